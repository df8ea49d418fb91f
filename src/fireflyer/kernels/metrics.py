"""Error metrics and the roofline, shared by the kernel harness, its tests and benchmarks/.

Timing is the shared protocol's (``fireflyer.timing``); this module says how close a result is and how fast
it could be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def calc_diff(x: Any, y: Any) -> float:
    """DeepGEMM's similarity error: 1 - 2<x,y> / (<x,x> + <y,y>), in float64; 0 means identical."""
    if hasattr(x, "double") and hasattr(y, "double"):
        # NOTE: two torch tensors: summed on their own device, as DeepGEMM does; only the sums leave it.
        xa, ya = x.double(), y.double()
    else:
        xa = np.asarray(x.double().cpu() if hasattr(x, "double") else x, dtype=np.float64)
        ya = np.asarray(y.double().cpu() if hasattr(y, "double") else y, dtype=np.float64)
    denom = float((xa * xa).sum() + (ya * ya).sum())
    if denom == 0.0:
        return 0.0
    return 1.0 - 2.0 * float((xa * ya).sum()) / denom


@dataclass(frozen=True)
class Closeness:
    """How one tensor compares with its reference, FlashMLA's way (``kernelkit.check_is_allclose``)."""

    name: str
    passed: bool
    cos_diff: float
    """``calc_diff`` of the finite values (0 means identical)."""
    max_abs_err: float
    max_rel_err: float
    mismatched: int
    """Elements outside both the absolute and the relative tolerance."""
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "cos_diff": self.cos_diff,
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "mismatched": self.mismatched,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Check:
    """The verdict on one backend's output: correct or not, one number (``calc_diff``-like, 0 = identical;
    which one each operation says), and the detail of every comparison."""

    correct: bool
    error_metric: float
    detail: dict[str, Any]


def check_close(
    name: str, ans: Any, ref: Any, *, abs_tol: float, rel_tol: float, cos_tol: float = 1.0
) -> Closeness:
    """Each element within ``abs_tol`` or ``rel_tol`` of the reference, and the whole within ``cos_tol``
    (``calc_diff``). Infinities and NaNs must sit at the same places in both (then they count as equal).

    Tensors in, through their own methods (any device; this module does not import torch).
    """
    if tuple(ans.shape) != tuple(ref.shape):
        return Closeness(
            name,
            False,
            1.0,
            float("inf"),
            float("inf"),
            -1,
            f"shape {tuple(ans.shape)} != {tuple(ref.shape)}",
        )
    a, r = ans.double(), ref.double()
    reason = None
    for what, fa, fr in (
        ("+inf", a == float("inf"), r == float("inf")),
        ("-inf", a == float("-inf"), r == float("-inf")),
        ("NaN", a.isnan(), r.isnan()),
    ):
        if not bool((fa == fr).all()) and reason is None:
            reason = f"{what} at {int(fa.sum())} places, the reference has {int(fr.sum())}"
        a = a.masked_fill(fa | fr, 0.0)
        r = r.masked_fill(fa | fr, 0.0)
    cos = calc_diff(a, r)
    err = (a - r).abs()
    rel = err / (r.abs() + 1e-6)
    bad = (err >= abs_tol) & (rel >= rel_tol)
    mismatched = int(bad.sum())
    max_abs = float(err.max()) if err.numel() else 0.0
    max_rel = float(rel.masked_fill(err < abs_tol, 0.0).max()) if err.numel() else 0.0
    if reason is None and mismatched:
        reason = f"{mismatched} of {err.numel()} elements outside abs {abs_tol:g} and rel {rel_tol:g}"
    if reason is None and abs(cos) > cos_tol:
        reason = f"cosine difference {cos:.3g} above {cos_tol:g}"
    return Closeness(name, reason is None, cos, max_abs, max_rel, mismatched, reason)


def roofline(
    flops: float, bytes_moved: float, *, peak_tflops: float, bandwidth_gbps: float
) -> dict[str, float]:
    """The attainable time of a kernel under a roofline, and which roof binds.

    Returns ``{"compute_s", "memory_s", "bound_s", "intensity", "ridge"}``: intensity in FLOP/byte, the
    ridge point of the machine, and the larger of the two times as the lower bound on runtime.
    """
    if peak_tflops <= 0 or bandwidth_gbps <= 0:
        raise ValueError("peak_tflops and bandwidth_gbps must be positive")
    compute_s = flops / (peak_tflops * 1e12)
    memory_s = bytes_moved / (bandwidth_gbps * 1e9)
    return {
        "compute_s": compute_s,
        "memory_s": memory_s,
        "bound_s": max(compute_s, memory_s),
        "intensity": flops / bytes_moved if bytes_moved else float("inf"),
        "ridge": peak_tflops * 1e12 / (bandwidth_gbps * 1e9),
    }
