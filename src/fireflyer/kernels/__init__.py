"""Kernel harness: MLA decoding, FP8 GEMM and MoE dispatch/combine, checked against references, timed by
the shared protocol and measured against the device's roof (the ``flyer kernels`` group)."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from . import ep as ep
    from . import gemm as gemm
    from . import mla as mla
    from .backends import BACKENDS as BACKENDS
    from .backends import VENDORS as VENDORS
    from .backends import Availability as Availability
    from .backends import Catalog as Catalog
    from .backends import Unsupported as Unsupported
    from .backends import availability as availability
    from .backends import catalog as catalog
    from .backends import catalog_on as catalog_on
    from .cases import CASE_TYPES as CASE_TYPES
    from .cases import OPS as OPS
    from .cases import EpCase as EpCase
    from .cases import GemmCase as GemmCase
    from .cases import MlaCase as MlaCase
    from .formulas import Cost as Cost
    from .formulas import ep_combine as ep_combine
    from .formulas import ep_dispatch as ep_dispatch
    from .formulas import ep_low_latency_combine as ep_low_latency_combine
    from .formulas import ep_low_latency_dispatch as ep_low_latency_dispatch
    from .formulas import gemm_fp8 as gemm_fp8
    from .formulas import mla_dense as mla_dense
    from .formulas import mla_sparse_fp8 as mla_sparse_fp8
    from .harness import bench as bench
    from .harness import default_ranks as default_ranks
    from .harness import environment as environment
    from .metrics import Check as Check
    from .metrics import Closeness as Closeness
    from .metrics import calc_diff as calc_diff
    from .metrics import check_close as check_close
    from .metrics import roofline as roofline
    from .planning import RunPlan as RunPlan
    from .planning import plan_run as plan_run
    from .results import SCHEMA as SCHEMA
    from .results import CompareReport as CompareReport
    from .results import Comparison as Comparison
    from .results import Report as Report
    from .results import Result as Result
    from .results import Skipped as Skipped
    from .results import compare as compare
    from .results import parse_threshold as parse_threshold
    from .results import shape_label as shape_label
    from .rooflines import Roof as Roof
    from .suites import Suite as Suite

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "backends": [
            "BACKENDS",
            "VENDORS",
            "Availability",
            "Catalog",
            "Unsupported",
            "availability",
            "catalog",
            "catalog_on",
        ],
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
        "harness": ["bench", "default_ranks", "environment"],
        "metrics": ["Check", "Closeness", "calc_diff", "check_close", "roofline"],
        "planning": ["RunPlan", "plan_run"],
        "results": [
            "SCHEMA",
            "CompareReport",
            "Comparison",
            "Report",
            "Result",
            "Skipped",
            "compare",
            "parse_threshold",
            "shape_label",
        ],
        "rooflines": ["Roof"],
        "suites": ["Suite"],
        # modules with their own names: mla, gemm, ep (torch), suites.load, results.load
        "mla": [],
        "gemm": [],
        "ep": [],
    },
)
