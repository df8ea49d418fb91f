"""Shared bits of the benchmark scripts: timing medians and fixed-width rows, or one JSON document."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import numpy as np

from fireflyer.timing import time_fn


def median_seconds(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` on the shared timing protocol (fireflyer.timing)."""
    return time_fn(fn, warmup=warmup, samples=repeat).median


def report(
    title: str, columns: list[str], rows: list[list], as_json: bool, extra: dict | None = None
) -> None:
    if as_json:
        json.dump(
            {"benchmark": title, "columns": columns, "rows": rows, **(extra or {})}, sys.stdout, indent=2
        )
        sys.stdout.write("\n")
        return
    print(title)
    widths = [max(len(str(c)), *(len(_fmt(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(str(c).rjust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(v).rjust(w) for v, w in zip(r, widths)))
    for k, v in (extra or {}).items():
        print(f"{k}: {_fmt(v)}")


def apart(a: float, b: float) -> float:
    """How far apart two timings are: the larger over the smaller, minus 1 (symmetric)."""
    return max(a, b) / min(a, b) - 1


def _fmt(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def zipf_loads(layers: int, experts: int, exponent: float, seed: int, noise: float = 0.0) -> np.ndarray:
    """Seeded Zipf-like expert loads [layers, experts]: rank**-exponent, shuffled per layer, optional
    lognormal noise."""
    rng = np.random.default_rng(seed)
    base = np.arange(1, experts + 1, dtype=np.float64) ** -exponent * 1000
    rows = [rng.permutation(base) * (rng.lognormal(0, noise, experts) if noise else 1) for _ in range(layers)]
    return np.array(rows, dtype=np.float32)


def test_module(relative: str):
    """A module of the test suite (e.g. ``tests/eplb/engines.py``), loaded from its file: a package named
    ``tests`` installed by some wheel must not shadow ours."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / relative
    sys.path.insert(
        0, str(path.parent.parent)
    )  # its siblings (conftest, helpers) import as they do in pytest
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
