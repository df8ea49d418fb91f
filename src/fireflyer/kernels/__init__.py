"""Kernel harness: MLA decoding, FP8 GEMM and MoE dispatch/combine, checked against references, timed by
the shared protocol and measured against the device's roof (the ``flyer kernels`` group)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "backends": ["BACKENDS", "VENDORS", "Availability", "Unsupported", "availability", "catalog"],
        "cases": ["CASE_TYPES", "OPS", "EpCase", "GemmCase", "MlaCase"],
        "formulas": [
            "Cost",
            "ep_combine",
            "ep_dispatch",
            "ep_low_latency_combine",
            "ep_low_latency_dispatch",
            "gemm_fp8",
            "mla_dense",
            "mla_sparse_fp8",
        ],
        "harness": ["Plan", "bench", "default_ranks", "environment", "plan"],
        "metrics": ["Check", "Closeness", "calc_diff", "check_close", "roofline"],
        "results": ["SCHEMA", "Comparison", "Report", "Result", "compare", "parse_threshold"],
        "rooflines": ["Roof"],
        "suites": ["Suite"],
        # modules with their own names: mla, gemm, ep (torch), suites.load, results.load
        "mla": [],
        "gemm": [],
        "ep": [],
    },
)
