"""The Chrome / Perfetto trace-event model, written once: what ``pipeline`` writes and ``trace`` reads,
merges and writes. Times are microseconds, as the format defines them.

Only the fields fireflyer uses are typed; a trace read from elsewhere (Kineto's PyTorch-profiler traces
carry ``distributedInfo``, ``deviceProperties``, ``baseTimeNanoseconds`` and more) keeps its other
top-level keys in ``TraceDocument.extra``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import msgspec

from ._core import trace as _core
from .errors import InputError
from .io import atomic_write, atomic_writer

# Phases (the "ph" field) fireflyer writes.
COMPLETE, COUNTER, METADATA, INSTANT = "X", "C", "M", "i"


class TraceEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One event. ``ts`` and ``dur`` in microseconds; ``pid``/``tid`` name the process and thread (or
    GPU stream) rows a viewer draws."""

    ph: str
    pid: int | str
    tid: int | str
    name: str = ""
    ts: float | None = None
    dur: float | None = None
    cat: str | None = None
    args: dict[str, Any] | None = None
    cname: str | None = None
    id: int | str | None = None
    """Flow events (ph s, t, f): the arrow an event belongs to (Kineto links CPU launches to kernels)."""
    bp: str | None = None
    """Flow end binding point ("e": the enclosing slice)."""
    s: str | None = None
    """Instant event scope (g, p or t)."""


class TraceDocument(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A whole trace file in the JSON object form."""

    traceEvents: list[TraceEvent]  # noqa: N815 - the format's field name
    displayTimeUnit: str = "ms"  # noqa: N815
    otherData: dict[str, Any] = {}  # noqa: N815
    extra: dict[str, Any] = {}
    """Other top-level keys, written back as they were (Kineto's ``distributedInfo``, for example)."""


def complete(
    name: str,
    ts: float,
    dur: float,
    *,
    pid: int | str,
    tid: int | str = 0,
    cat: str | None = None,
    args: dict[str, Any] | None = None,
    cname: str | None = None,
) -> TraceEvent:
    """A complete event: one box from ``ts`` lasting ``dur`` microseconds."""
    return TraceEvent(
        ph=COMPLETE, name=name, pid=pid, tid=tid, ts=ts, dur=dur, cat=cat, args=args, cname=cname
    )


def counter(name: str, ts: float, values: dict[str, float], *, pid: int | str) -> TraceEvent:
    """A counter sample: a track per key of ``values`` under ``name``."""
    return TraceEvent(ph=COUNTER, name=name, pid=pid, tid=0, ts=ts, args=dict(values))


def process_name(pid: int | str, name: str, *, sort_index: int | None = None) -> list[TraceEvent]:
    """Metadata naming a process row (and its place among the rows)."""
    out = [TraceEvent(ph=METADATA, name="process_name", pid=pid, tid=0, args={"name": name})]
    if sort_index is not None:
        out.append(
            TraceEvent(
                ph=METADATA, name="process_sort_index", pid=pid, tid=0, args={"sort_index": sort_index}
            )
        )
    return out


def thread_name(
    pid: int | str, tid: int | str, name: str, *, sort_index: int | None = None
) -> list[TraceEvent]:
    """Metadata naming a thread (or stream) row within a process."""
    out = [TraceEvent(ph=METADATA, name="thread_name", pid=pid, tid=tid, args={"name": name})]
    if sort_index is not None:
        out.append(
            TraceEvent(
                ph=METADATA, name="thread_sort_index", pid=pid, tid=tid, args={"sort_index": sort_index}
            )
        )
    return out


def to_builtins(doc: TraceDocument) -> dict[str, Any]:
    """The document as the JSON object viewers load (``extra`` keys at the top level)."""
    data = msgspec.to_builtins(doc, order="deterministic")
    extra = data.pop("extra", {})
    return {**extra, **data}


def dumps(doc: TraceDocument) -> bytes:
    """Deterministic, compact JSON (traces are large; viewers do not need indentation)."""
    return msgspec.json.encode(to_builtins(doc), order="deterministic") + b"\n"


def write(path: str | os.PathLike, doc: TraceDocument) -> None:
    """Write a trace atomically."""
    atomic_write(path, dumps(doc))


def encode_events(events: Iterable[TraceEvent]) -> bytes:
    """Events as comma-separated JSON objects, each exactly as ``dumps`` writes it (no brackets)."""
    raw = msgspec.json.encode(msgspec.to_builtins(list(events), order="deterministic"), order="deterministic")
    return raw[1:-1]


def write_stream(
    path: str | os.PathLike,
    batches: Iterable[Iterable[TraceEvent]],
    *,
    displayTimeUnit: str = "ms",  # noqa: N803 - the format's field name
    otherData: dict[str, Any] | None = None,  # noqa: N803
    extra: dict[str, Any] | None = None,
) -> int:
    """Write a trace atomically from batches of events, holding one batch at a time; the bytes are those
    ``write`` gives for the same document. Returns the number of events written."""
    empty = TraceDocument(
        traceEvents=[], displayTimeUnit=displayTimeUnit, otherData=otherData or {}, extra=extra or {}
    )
    head = to_builtins(empty)
    keys = sorted(head)
    count = 0
    with atomic_writer(path) as fh:
        fh.write(b"{")
        for i, key in enumerate(keys):
            fh.write((b"," if i else b"") + msgspec.json.encode(key) + b":")
            if key != "traceEvents":
                fh.write(
                    msgspec.json.encode(
                        msgspec.to_builtins(head[key], order="deterministic"), order="deterministic"
                    )
                )
                continue
            fh.write(b"[")
            for batch in batches:
                batch = list(batch)
                if batch:
                    fh.write((b"," if count else b"") + encode_events(batch))
                    count += len(batch)
            fh.write(b"]")
        fh.write(b"}\n")
    return count


def append(path: str | os.PathLike, events: Iterable[TraceEvent], header: Any = None) -> int:
    """Add ``events`` at the end of the ``traceEvents`` of an existing (uncompressed) trace file, in place
    and atomically; the rest of the file is copied as it is (the core's streaming reader checks the file
    and finds where traceEvents ends, unless ``header``, the core's header of this file as read, says it).
    Returns the number of events added."""
    events = list(events)
    if not events:
        return 0
    if header is None:
        header = _core.read_header(os.fspath(path))
    with open(path, "rb") as src:
        if src.read(2) == b"\x1f\x8b":
            raise InputError("cannot add events to a gzip-compressed trace", file=os.fspath(path))
        src.seek(0)
        with atomic_writer(path) as out:
            _copy(src, out, header.events_end)
            out.write(b",\n" + encode_events(events) + b"\n")
            _copy(src, out, None)
    return len(events)


def _copy(src, dst, n: int | None, chunk: int = 1 << 22) -> None:
    while n is None or n > 0:
        data = src.read(chunk if n is None else min(chunk, n))
        if not data:
            break
        dst.write(data)
        if n is not None:
            n -= len(data)
