"""Kernel harness: correctness metrics and rooflines (the ``flyer kernels`` group builds on them)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {"metrics": ["calc_diff", "roofline"]})
