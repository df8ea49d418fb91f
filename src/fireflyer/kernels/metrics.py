"""Error metrics and the roofline, shared by the kernel harness, its tests and benchmarks/.

Timing is the shared protocol's (``fireflyer.timing``); this module says how close a result is and how fast
it could be.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def calc_diff(x: Any, y: Any) -> float:
    """DeepGEMM's similarity error: 1 - 2<x,y> / (<x,x> + <y,y>), in float64; 0 means identical."""
    xa = np.asarray(x.double().cpu() if hasattr(x, "double") else x, dtype=np.float64)
    ya = np.asarray(y.double().cpu() if hasattr(y, "double") else y, dtype=np.float64)
    denom = float((xa * xa).sum() + (ya * ya).sum())
    if denom == 0.0:
        return 0.0
    return 1.0 - 2.0 * float((xa * ya).sum()) / denom


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
