"""Many ranks' traces as one, for Perfetto or chrome://tracing: a process per rank, a row per GPU stream and
CPU thread, every timestamp moved onto one timeline.

``align="clock"`` keeps each event's absolute time (the ranks' clocks, as the profiler read them: right on
one host, as good as the hosts' clock sync across hosts) and starts the timeline at the earliest event;
``align="step"`` lines up each rank's first ``ProfilerStep`` instead, for hosts whose clocks disagree.
Files stream through a batch of events at a time, in and out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import msgspec

from .. import trace_events
from .._core import trace as _core
from ..errors import InputError
from ..io import check_outputs
from ..trace_events import TraceEvent
from .analysis import TraceFigures, ranks_of, scan, trace_files

ALIGNMENTS = ("clock", "step")


class MergedRank(msgspec.Struct, kw_only=True):
    rank: int
    file: str
    shift_us: float  # added to every timestamp of the file
    events: int
    rows: int


class MergeResult(msgspec.Struct, kw_only=True):
    out: str
    align: str
    events: int
    ranks: list[MergedRank]


def _exact_us(f: TraceFigures, relative_us: float) -> Fraction:
    """An instant of file ``f`` (relative to its origin) in absolute microseconds, exactly."""
    return Fraction(f.header.base_time_ns, 1000) + f.origin_us + Fraction(relative_us)


def _shifts(figures: list[TraceFigures], align: str) -> list[float]:
    if align == "clock":
        starts = [_exact_us(f, f.start_us) for f in figures]
        ref = min(starts)
        return [float(Fraction(f.header.base_time_ns, 1000) - ref) for f in figures]
    for f in figures:
        if f.steps == 0:
            raise InputError(
                "has no ProfilerStep annotations to align on", file=f.file, hint="use --align clock"
            )
    steps = [_exact_us(f, f.first_step_us) for f in figures]
    lead = max(s - _exact_us(f, f.start_us) for f, s in zip(figures, steps))  # keeps every time >= 0
    return [float(Fraction(f.header.base_time_ns, 1000) - s + lead) for f, s in zip(figures, steps)]


def _numeric_key(v: int | str) -> tuple:
    text = str(v)
    return (0, int(text), "") if re.fullmatch(r"-?\d+", text) else (1, 0, text)


class _Ids:
    """Event ids (flow arrows, async slices) renumbered 1, 2, ... in order of first appearance, rank after
    rank: arrows of different ranks never meet, and ids of any size (past 2^64, strings) come out as small
    integers every viewer reads."""

    def __init__(self) -> None:
        self.used = 0
        self.rank: dict[tuple[bool, int | str], int] = {}

    def next_rank(self) -> None:
        self.used += len(self.rank)
        self.rank = {}

    def __call__(self, old: int | str) -> int:
        key = (isinstance(old, str), old)
        new = self.rank.get(key)
        if new is None:
            new = self.rank[key] = self.used + len(self.rank) + 1
        return new


class _Rows:
    """Rows (threads) of one rank in the merged trace, numbered as first seen."""

    def __init__(self, devices: set[str]):
        self.devices = devices
        self.tids: dict[tuple, int] = {}

    def tid(self, pid: int | str, tid: int | str) -> int:
        key = (str(pid), str(tid))
        found = self.tids.get(key)
        if found is None:
            found = self.tids[key] = len(self.tids) + 1
        return found

    def metadata(self, rank: int, label: str) -> list[TraceEvent]:
        out = trace_events.process_name(rank, label, sort_index=rank)
        order = sorted(
            self.tids,
            key=lambda k: (k[0] not in self.devices, _numeric_key(k[0]), _numeric_key(k[1])),
        )
        for i, (pid, tid) in enumerate(order):
            name = f"GPU {pid} stream {tid}" if pid in self.devices else f"CPU {pid} thread {tid}"
            out += trace_events.thread_name(rank, self.tids[(pid, tid)], name, sort_index=i)
        return out


def _events(
    f: TraceFigures,
    rank: int,
    shift: float,
    rows: _Rows,
    ids: _Ids,
    batch_bytes: int,
    counter: list[int],
) -> Iterator[list[TraceEvent]]:
    decoder = msgspec.json.Decoder(list[TraceEvent])
    reader = _core.EventReader(f.file)
    index = 0
    while True:
        raw = reader.batch(batch_bytes)
        if not raw:
            break
        try:
            batch = decoder.decode(raw)
        except msgspec.ValidationError as e:
            msg, _, where = str(e).partition(" - at `$[")
            at = int(where.split("]")[0]) if where else 0
            raise InputError(msg, file=f.file, field=f"traceEvents[{index + at}]") from None
        index += len(batch)
        out = []
        for ev in batch:
            if ev.ph == trace_events.METADATA:
                continue  # the merged trace names its own rows
            ev.tid = rows.tid(ev.pid, ev.tid)
            ev.pid = rank
            if ev.ts is not None:
                ev.ts += shift
            if ev.id is not None:
                ev.id = ids(ev.id)
            out.append(ev)
        counter[0] += len(out)
        yield out


def merge(
    paths: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    *,
    align: str = "clock",
    batch_bytes: int = 4 << 20,
) -> MergeResult:
    """Write one trace holding every rank's trace under ``paths`` (files or directories) to ``out``.

    Example::

        merge(["traces/"], "all-ranks.json")  # open it in https://ui.perfetto.dev
    """
    if align not in ALIGNMENTS:
        raise InputError(f"expected one of {', '.join(ALIGNMENTS)}, got {align!r}", field="align")
    files = trace_files(paths)
    check_outputs([out], files)
    figures = scan(files, top=1)
    claimed = ranks_of(figures)
    spare = max((r for r in claimed if r is not None), default=-1) + 1
    ranks = []
    for r in claimed:
        if r is None:
            r, spare = spare, spare + 1
        ranks.append(r)
    order = sorted(range(len(files)), key=lambda i: ranks[i])
    shifts = _shifts(figures, align)
    merged: list[MergedRank] = []
    ids = _Ids()

    def batches() -> Iterator[list[TraceEvent]]:
        for i in order:
            f, rank = figures[i], ranks[i]
            rows = _Rows({str(d.device) for d in f.devices})
            counter = [0]
            ids.next_rank()
            yield from _events(f, rank, shifts[i], rows, ids, batch_bytes, counter)
            yield rows.metadata(rank, f"rank {rank} ({Path(f.file).name})")
            merged.append(
                MergedRank(rank=rank, file=f.file, shift_us=shifts[i], events=counter[0], rows=len(rows.tids))
            )

    total = trace_events.write_stream(
        out,
        batches(),
        otherData={
            "merged_by": "flyer trace merge",
            "align": align,
            "ranks": [{"rank": ranks[i], "file": figures[i].file, "shift_us": shifts[i]} for i in order],
        },
    )
    return MergeResult(out=os.fspath(out), align=align, events=total, ranks=merged)
