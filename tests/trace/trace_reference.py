"""A pure-Python reference of the trace figures, written independently of the C++ core: it reads traces
with Python's json and measures time with a sweep over span boundaries (counting how many spans of each
kind are open), where the core merges sorted spans and intersects the merged lists; CPU compute time by
painting microseconds per thread."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

KERNEL_CATS = {"kernel", "Kernel"}
MEMORY_CATS = {"gpu_memcpy", "gpu_memset", "Memcpy", "Memset"}
COMM = re.compile(
    r"\bnccl|\b(?:deep_ep|dpsk::ep)::(?:intranode|internode|internode_ll)::|\bgloo|^c10d::|^record_param_comms$"
)
CPU_CATS = {
    "cpu_op",
    "operator",
    "Operator",
    "cuda_runtime",
    "Runtime",
    "runtime",
    "cuda_driver",
    "Driver",
    "driver",
}


def sweep(spans: dict[str, list[tuple[float, float]]]) -> dict[str, float]:
    """Time covered by each kind, by all, and by compute and comm at once."""
    points = []
    for kind, items in spans.items():
        for lo, hi in items:
            if hi > lo:
                points.append((lo, 1, kind))
                points.append((hi, -1, kind))
    points.sort(key=lambda p: p[0])
    open_ = defaultdict(int)
    out = defaultdict(float)
    last = None
    for t, delta, kind in points:
        if last is not None and t > last:
            width = t - last
            if any(open_.values()):
                out["busy"] += width
            for k, n in open_.items():
                if n:
                    out[k] += width
            if open_["compute"] and open_["comm"]:
                out["overlap"] += width
        open_[kind] += delta
        last = t
    return dict(out)


def figures(events: list[dict], comm=COMM) -> dict:
    """Figures of one device's kernels, copies and sets (all of ``events`` that are device work)."""
    spans: dict[str, list] = {"compute": [], "comm": [], "memory": []}
    streams: dict = defaultdict(list)
    counts = defaultdict(int)
    lo, hi = None, None
    for e in events:
        if e.get("ph") != "X":
            continue
        cat = e.get("cat")
        if cat in KERNEL_CATS:
            kind = "comm" if comm.search(e.get("name", "")) else "compute"
            counts["kernels"] += 1
            counts["comm_kernels"] += kind == "comm"
        elif cat in MEMORY_CATS:
            kind = "memory"
            counts["memory_ops"] += 1
        else:
            continue
        s, d = float(e["ts"]), float(e["dur"])
        spans[kind].append((s, s + d))
        streams[e["tid"]].append((s, s + d))
        lo = s if lo is None else min(lo, s)
        hi = s + d if hi is None else max(hi, s + d)
    cover = sweep(spans)
    return {
        **counts,
        "span_us": (hi - lo) if lo is not None else 0.0,
        "busy_us": cover.get("busy", 0.0),
        "compute_us": cover.get("compute", 0.0),
        "comm_us": cover.get("comm", 0.0),
        "memory_us": cover.get("memory", 0.0),
        "overlap_us": cover.get("overlap", 0.0),
        "streams": {tid: sweep({"x": v}).get("busy", 0.0) for tid, v in streams.items()},
    }


def cpu_compute_us(events: list[dict], comm=COMM) -> float:
    """CPU compute time: per thread, the microseconds some operator covers and no communication range does
    (an operator, or a user annotation such as gloo:all_reduce, whose name is communication), then over all
    threads. It paints whole microseconds: integer timestamps and durations only."""
    busy: dict = defaultdict(set)
    waits: dict = defaultdict(set)
    for e in events:
        if e.get("ph") != "X":
            continue
        is_comm = comm.search(e.get("name", "")) is not None
        if e.get("cat") not in CPU_CATS and not (e.get("cat") == "user_annotation" and is_comm):
            continue
        ticks = range(e["ts"], e["ts"] + e["dur"])
        busy[(e["pid"], e["tid"])].update(ticks)
        if is_comm:
            waits[(e["pid"], e["tid"])].update(ticks)
    return float(len(set().union(*(busy[k] - waits[k] for k in busy))))


def cpu_op(ts: int, dur: int, *, name: str = "aten::mm", tid: int = 1, pid: int = 100, cat: str = "cpu_op"):
    return {"ph": "X", "cat": cat, "name": name, "pid": pid, "tid": tid, "ts": ts, "dur": dur}


def load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def trace(events: list[dict], **top) -> dict:
    """A trace document around ``events``."""
    return {"schemaVersion": 1, **top, "traceEvents": events}


def kernel(
    ts: float, dur: float, *, name: str = "gemm", stream: int = 7, device: int = 0, cat: str = "kernel"
):
    return {"ph": "X", "cat": cat, "name": name, "pid": device, "tid": stream, "ts": ts, "dur": dur}


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path
