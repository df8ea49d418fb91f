"""The one timing harness: warm-up, optional cache flush, medians, error metrics, roofline.

Tests, `flyer` commands and the scripts in benchmarks/ all time code through ``time_fn`` so their
numbers are comparable. CUDA work is timed with CUDA events; CPU work with ``perf_counter``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``samples`` timed calls."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"median_s": self.median, "best_s": self.best, "mean_s": self.mean, "stdev_s": self.stdev,
                "samples": len(self.samples)}


_flush_buf: Any = None


def _flush_cache(device: str) -> None:
    """Evict caches between calls by writing a buffer larger than any L2/LLC (256 MiB)."""
    global _flush_buf
    if device == "cuda":
        import torch

        if _flush_buf is None or not getattr(_flush_buf, "is_cuda", False):
            _flush_buf = torch.empty(256 << 20, dtype=torch.int8, device="cuda")
        _flush_buf.zero_()
    else:
        import numpy as np

        if _flush_buf is None or not isinstance(_flush_buf, np.ndarray):
            _flush_buf = np.empty(256 << 20, dtype=np.int8)
        _flush_buf.fill(0)


def time_fn(fn: Callable[[], object], *, warmup: int = 1, repeat: int = 10, flush_cache: bool = False,
            device: str = "cpu") -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` untimed calls; ``device="cuda"`` uses CUDA events."""
    if repeat < 1 or warmup < 0:
        raise ValueError(f"repeat must be >= 1 and warmup >= 0, got repeat={repeat}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    samples = []
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        for _ in range(repeat):
            if flush_cache:
                _flush_cache(device)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(repeat):
            if flush_cache:
                _flush_cache(device)
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    return Timing(tuple(samples))


def calc_diff(x: Any, y: Any) -> float:
    """DeepGEMM's similarity error: 1 - 2<x,y> / (<x,x> + <y,y>), in float64; 0 means identical."""
    import numpy as np

    xa = np.asarray(x.double().cpu() if hasattr(x, "double") else x, dtype=np.float64)
    ya = np.asarray(y.double().cpu() if hasattr(y, "double") else y, dtype=np.float64)
    denom = float((xa * xa).sum() + (ya * ya).sum())
    if denom == 0.0:
        return 0.0
    return 1.0 - 2.0 * float((xa * ya).sum()) / denom


def roofline(flops: float, bytes_moved: float, *, peak_tflops: float, bandwidth_gbps: float) -> dict[str, float]:
    """The attainable time of a kernel under a roofline, and which roof binds.

    Returns ``{"compute_s", "memory_s", "bound_s", "intensity", "ridge"}``: intensity in FLOP/byte, the
    ridge point of the machine, and the larger of the two times as the lower bound on runtime.
    """
    if peak_tflops <= 0 or bandwidth_gbps <= 0:
        raise ValueError("peak_tflops and bandwidth_gbps must be positive")
    compute_s = flops / (peak_tflops * 1e12)
    memory_s = bytes_moved / (bandwidth_gbps * 1e9)
    return {"compute_s": compute_s, "memory_s": memory_s, "bound_s": max(compute_s, memory_s),
            "intensity": flops / bytes_moved if bytes_moved else float("inf"),
            "ridge": peak_tflops * 1e12 / (bandwidth_gbps * 1e9)}
