"""The Chrome / Perfetto trace-event model, written once: what ``pipeline`` writes and ``trace`` reads,
merges and writes. Times are microseconds, as the format defines them.

Only the fields fireflyer uses are typed; a trace read from elsewhere (Kineto's PyTorch-profiler traces
carry ``distributedInfo``, ``deviceProperties``, ``baseTimeNanoseconds`` and more) keeps its other
top-level keys in ``TraceDocument.extra``.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from .io import atomic_write

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
