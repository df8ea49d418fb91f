"""Compute/communication overlap of PyTorch-profiler (Kineto) traces, one file per rank.

Per rank and device: the span from the first to the last device activity; busy time (the union of every
kernel, copy and set); compute and communication time (unions of the kernels of each kind); their overlap
(the intersection of the two unions); the share of communication hidden under compute; exposed
communication; idle share; time per stream; the top kernels. Across ranks: min, median and max of each
figure, and the straggler: the rank with the most compute time (time in communication, where a rank waits
for the others, excluded), named only when it exceeds the median rank's by more than
``STRAGGLER_OVER_MEDIAN_PCT``.

Kernels are communication when their name matches one of ``COMM_PATTERNS`` (NCCL, DeepEP and DeepSeek's
internal build of it, gloo) or the patterns given instead; copies and sets (``gpu_memcpy``, ``gpu_memset``)
count as neither. A trace without device kernels (a CPU-only job) gets the CPU-side breakdown.

Files stream through the compiled core (``fireflyer._core.trace``) a chunk at a time, several files at once.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from .. import io
from .._core import trace as _core
from ..errors import InputError

COMM_PATTERNS: tuple[str, ...] = (
    r"\bnccl",  # NCCL / RCCL kernels (ncclKernel_*, ncclDevKernel_*) and the CPU ranges nccl:all_reduce
    # DeepEP's dispatch and combine (and DeepSeek's internal dpsk::ep build); its layout kernels compute
    # locally (deep_ep::layout::get_dispatch_layout, dpsk::ep::cuda::get_dispatch_layout): not communication
    r"\b(?:deep_ep|dpsk::ep)::(?:intranode|internode|internode_ll)::",
    r"\bgloo",  # gloo's collectives (CPU ranges gloo:all_reduce on gloo's threads)
    r"^c10d::",  # torch.distributed's operators (c10d::allreduce_, ...)
    r"^record_param_comms$",  # torch's CPU-side range around each collective
)
"""Regular expressions (Python syntax, searched anywhere in the name) for communication kernels and ops."""

STRAGGLER_OVER_MEDIAN_PCT = 10.0
"""A rank is the straggler when its compute time exceeds the median rank's by more than this many percent;
closer ranks count as equal and none is named. A choice, not a measurement: on CPUs shared with other work
an equal rank's operators can run that much longer (the demo's two gloo ranks on a loaded 2-core VM came 5%
and 12% over their median in two runs), and a rank so slowed does hold the others up."""

TRACE_SUFFIXES = (".json", ".json.gz")


# The figures the core measures arrive as dicts keyed by these Structs' fields (each C++ record's fields() in
# csrc/trace/analysis.h, under the same name) and are converted once, in ``scan``; the figures derived from
# them (means, shares) are computed here, in ``__post_init__``. These Structs are also the ``--json`` schema.


class Stream(msgspec.Struct, kw_only=True):
    stream: int | str
    kernels: int
    busy_us: float
    compute_us: float
    comm_us: float
    memory_us: float


class Kernel(msgspec.Struct, kw_only=True):
    name: str
    kind: str  # compute, comm or memory
    count: int
    total_us: float  # sum of durations
    mean_us: float = 0.0  # total_us / count
    max_us: float

    def __post_init__(self) -> None:
        self.mean_us = self.total_us / self.count


class Thread(msgspec.Struct, kw_only=True):
    pid: int | str
    tid: int | str
    ops: int
    busy_us: float
    comm_us: float


class Op(msgspec.Struct, kw_only=True):
    name: str
    comm: bool
    count: int
    total_us: float  # inclusive of the operators it calls
    self_us: float  # exclusive


class CpuBreakdown(msgspec.Struct, kw_only=True):
    """CPU-side figures: operators and runtime calls per thread, communication ranges (gloo, c10d, nccl)."""

    ops: int
    span_us: float
    busy_us: float
    comm_us: float
    compute_us: float  # busy time outside communication (a thread blocked in gloo is not computing)
    idle_pct: float | None = None  # (span - busy) / span; None for an empty span
    threads: list[Thread]
    top_ops: list[Op]

    def __post_init__(self) -> None:
        self.idle_pct = percent(self.span_us - self.busy_us, self.span_us)


class RankFigures(msgspec.Struct, kw_only=True):
    """The figures of one rank's device (or, without device kernels, its CPU side)."""

    rank: int | None = None  # distributedInfo.rank, else None
    file: str
    device: int | str | None  # the device (Kineto's pid of GPU rows); None without device kernels
    steps: int  # ProfilerStep#N annotations in the file
    kernels: int = 0
    comm_kernels: int = 0
    memory_ops: int = 0
    span_us: float = 0.0
    busy_us: float = 0.0
    compute_us: float = 0.0
    comm_us: float = 0.0
    memory_us: float = 0.0
    overlap_us: float = 0.0
    comm_hidden_pct: float | None = None  # overlap / comm; None without communication
    exposed_comm_us: float = 0.0  # comm - overlap
    idle_pct: float | None = None  # (span - busy) / span; None for an empty span
    streams: list[Stream] = []
    top_kernels: list[Kernel] = []
    cpu: CpuBreakdown | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        self.comm_hidden_pct = percent(self.overlap_us, self.comm_us)
        self.exposed_comm_us = self.comm_us - self.overlap_us
        self.idle_pct = percent(self.span_us - self.busy_us, self.span_us)

    @property
    def label(self) -> str:
        who = f"rank {self.rank}" if self.rank is not None else Path(self.file).name
        return who if self.device is None else f"{who} (device {self.device})"


class TraceFigures(msgspec.Struct, kw_only=True):
    """What the core measures in one trace file. Times in microseconds from ``origin_us`` (the integer part
    of the first timestamp, in the file's units)."""

    file: str
    header: Any  # _core.trace.Header: the file's top-level facts (rank, base time, ...)
    gzip: bool
    file_bytes: int
    parts: int  # byte ranges the file was read in at once
    origin_us: int
    start_us: float  # first moment of any timed event
    end_us: float  # last
    steps: int  # ProfilerStep#N annotations
    first_step_us: float
    devices: list[RankFigures]  # one per device with kernels (rank not yet known: None)
    cpu: CpuBreakdown | None  # where computed (asked for, or no device has kernels)


class Spread(msgspec.Struct, kw_only=True):
    min: float
    median: float
    max: float
    min_rank: int | None
    max_rank: int | None


class Straggler(msgspec.Struct, kw_only=True):
    rank: int | None
    file: str
    device: int | str | None
    by: str  # the figure compared: compute_us (device kernels) or cpu_compute_us (CPU-only traces)
    value_us: float
    median_us: float
    over_median_pct: float | None  # None when the median is 0


class Summary(msgspec.Struct, kw_only=True):
    files: int
    ranks: int  # entries (a file with kernels on several devices gives one per device)
    with_kernels: int
    metrics: dict[str, Spread]
    straggler: Straggler | None  # None with one rank, or when no rank exceeds the threshold
    straggler_threshold_pct: float  # STRAGGLER_OVER_MEDIAN_PCT


class Analysis(msgspec.Struct, kw_only=True):
    ranks: list[RankFigures]
    summary: Summary
    comm_patterns: list[str]


# ---- Files and ranks --------------------------------------------------------------------------------------


def trace_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The trace files named by ``paths``: files as given, directories by their ``*.json`` and
    ``*.json.gz`` entries (not recursively; a FIFO or device so named is listed, for ``scan`` to refuse),
    each file once."""
    out: list[Path] = []
    seen: set[str] = set()
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.name.endswith(TRACE_SUFFIXES) and not f.is_dir())
            if not found:
                raise InputError(
                    "no trace files in this directory", file=str(p), hint="expected *.json or *.json.gz"
                )
        elif p.exists():
            found = [p]
        else:
            raise InputError("not found", file=str(p))
        for f in found:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                out.append(f)
    if not out:
        raise InputError("no trace files given")
    return out


def comm_matcher(patterns: Sequence[str] | None = None) -> re.Pattern:
    """One regular expression matching any of ``patterns`` (default ``COMM_PATTERNS``)."""
    patterns = COMM_PATTERNS if patterns is None else tuple(patterns)
    if not patterns:
        raise InputError("expected at least one communication pattern", field="comm_patterns")
    for p in patterns:
        try:
            re.compile(p)
        except re.error as e:
            raise InputError(f"{p!r} is not a valid regular expression: {e}", field="comm_patterns") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def scan(
    files: Sequence[str | os.PathLike],
    *,
    comm_patterns: Sequence[str] | None = None,
    top: int = 10,
    cpu: bool = False,
    threads: int = 0,
) -> list[TraceFigures]:
    """The core's figures of each file (several files at once on ``threads`` threads, 0: all). Every path the
    core opens passes here first: anything but a regular file of at most ``io.LIMITS["trace"]`` bytes is
    refused (a FIFO would block the reader, a device be read without end)."""
    if top < 0:
        raise InputError(f"must be >= 0 (0: all), got {top}", field="top")
    if threads < 0:
        raise InputError(f"must be >= 0 (0: all available), got {threads}", field="threads")
    search = comm_matcher(comm_patterns).search
    for f in files:
        io.check_regular(f, what="trace file", limit=io.LIMITS["trace"])

    def classify(kernels: list[str], ops: list[str]) -> tuple[bytes, bytes]:
        return bytes(search(n) is not None for n in kernels), bytes(search(n) is not None for n in ops)

    found = _core.analyze_files([os.fspath(f) for f in files], classify, top, cpu, threads)
    return msgspec.convert(found, list[TraceFigures])


def ranks_of(figures: Sequence[TraceFigures]) -> list[int | None]:
    """Each file's rank (distributedInfo.rank); two files claiming one rank are an InputError."""
    claimed: dict[int, str] = {}
    out: list[int | None] = []
    for f in figures:
        h = f.header
        if not h.has_rank:
            out.append(None)
            continue
        if h.rank in claimed:
            raise InputError(
                f"claims rank {h.rank} (distributedInfo.rank), as does {claimed[h.rank]}",
                file=f.file,
                hint="keep one trace per rank in a directory",
            )
        claimed[h.rank] = f.file
        out.append(h.rank)
    return out


# ---- Figures --------------------------------------------------------------------------------------------


def percent(part: float, whole: float) -> float | None:
    """100 · part / whole; None when whole is not positive (nothing to be a share of)."""
    return 100.0 * part / whole if whole > 0 else None


def rank_figures(f: TraceFigures, rank: int | None) -> list[RankFigures]:
    """One entry per device with kernels, or one CPU-side entry when no device has any."""
    out = [msgspec.structs.replace(d, rank=rank) for d in f.devices]
    if not out:
        note = "no device kernels: a CPU-only trace; see the CPU-side breakdown"
        out.append(RankFigures(rank=rank, file=f.file, device=None, steps=f.steps, cpu=f.cpu, note=note))
    return out


DEVICE_METRICS = (
    "span_us",
    "busy_us",
    "compute_us",
    "comm_us",
    "overlap_us",
    "comm_hidden_pct",
    "exposed_comm_us",
    "idle_pct",
)
CPU_METRICS = ("span_us", "busy_us", "compute_us", "comm_us", "idle_pct")


def summarize(entries: Sequence[RankFigures], files: int) -> Summary:
    """Min, median and max of each figure across ranks, and the straggler: the rank with the most compute
    time (device compute kernels; on CPU-only traces busy time outside communication, so that a rank
    blocked in gloo waiting for a slow one is not taken for it), when that exceeds the median rank's by
    more than ``STRAGGLER_OVER_MEDIAN_PCT``."""
    gpu = [e for e in entries if e.kernels or e.memory_ops]
    metrics: dict[str, Spread] = {}
    # each entry with the record its figures are read from: itself, or its CPU-side breakdown
    pool: list[tuple[RankFigures, RankFigures | CpuBreakdown]]
    names: tuple[str, ...]
    if gpu:
        pool, names = [(e, e) for e in gpu], DEVICE_METRICS
    else:
        pool = [(e, e.cpu) for e in entries if e.cpu is not None]
        names = tuple(f"cpu_{n}" for n in CPU_METRICS)
    for name in names:
        key = name.removeprefix("cpu_") if not gpu else name
        vals = [(v, e) for e, src in pool if (v := getattr(src, key)) is not None]
        if not vals:
            continue
        lo = min(vals, key=lambda v: v[0])
        hi = max(vals, key=lambda v: v[0])
        metrics[name] = Spread(
            min=lo[0],
            median=statistics.median(v for v, _ in vals),
            max=hi[0],
            min_rank=lo[1].rank,
            max_rank=hi[1].rank,
        )
    straggler = None
    if len(pool) >= 2:
        compute = [src.compute_us for _, src in pool]
        med = statistics.median(compute)
        i = max(range(len(pool)), key=lambda k: (compute[k], -k))
        if compute[i] > med * (1 + STRAGGLER_OVER_MEDIAN_PCT / 100):
            e = pool[i][0]
            straggler = Straggler(
                rank=e.rank,
                file=e.file,
                device=e.device,
                by="compute_us" if gpu else "cpu_compute_us",
                value_us=compute[i],
                median_us=med,
                over_median_pct=percent(compute[i] - med, med),
            )
    return Summary(
        files=files,
        ranks=len(entries),
        with_kernels=len(gpu),
        metrics=metrics,
        straggler=straggler,
        straggler_threshold_pct=STRAGGLER_OVER_MEDIAN_PCT,
    )


def analyze(
    paths: Iterable[str | os.PathLike],
    *,
    comm_patterns: Sequence[str] | None = None,
    top: int = 10,
    cpu: bool = False,
    threads: int = 0,
) -> Analysis:
    """Figures of every rank's trace under ``paths`` (files, ``.json.gz`` files or directories of per-rank
    traces) and their spread across ranks.

    ``comm_patterns`` replaces ``COMM_PATTERNS``; ``top`` kernels (and CPU operators) are kept per rank (0:
    all); ``cpu`` adds the CPU-side breakdown where devices have kernels too (it is always there for
    CPU-only traces); ``threads`` files are read at once (0: one per available core).

    Example::

        a = analyze(["traces/"])
        print(a.summary.metrics["comm_hidden_pct"].median, a.summary.straggler)
    """
    files = trace_files(paths)
    figures = scan(files, comm_patterns=comm_patterns, top=top, cpu=cpu, threads=threads)
    ranks = ranks_of(figures)
    entries = [e for f, r in zip(figures, ranks) for e in rank_figures(f, r)]
    entries.sort(key=lambda e: (e.rank is None, e.rank if e.rank is not None else 0, e.file, str(e.device)))
    return Analysis(
        ranks=entries,
        summary=summarize(entries, len(files)),
        comm_patterns=list(COMM_PATTERNS if comm_patterns is None else comm_patterns),
    )
