"""Kernel ops and the benchmark harness. ``bench`` times code the same way for tests, CLI and benchmarks/."""

from .bench import Timing, calc_diff, roofline, time_fn

__all__ = ["Timing", "calc_diff", "roofline", "time_fn"]
