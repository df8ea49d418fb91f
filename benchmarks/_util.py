"""Shared bits of the benchmark scripts: timing medians and fixed-width rows, or one JSON document."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def report(title: str, columns: list[str], rows: list[list], as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        json.dump({"benchmark": title, "columns": columns, "rows": rows, **(extra or {})}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print(title)
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(str(c).rjust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(v).rjust(w) for v, w in zip(r, widths)))
    for k, v in (extra or {}).items():
        print(f"{k}: {_fmt(v)}")


def _fmt(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)
