"""The file formats of expert loads (``loads``: every form users and engines have them) and of plans
(``plans``: the forms the engines load). ``fireflyer.io`` is the shared, bounded file reader beneath both."""

from typing import TYPE_CHECKING

from ..._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .loads import LOAD_FORMATS as LOAD_FORMATS
    from .loads import LOAD_SUFFIXES as LOAD_SUFFIXES
    from .loads import SAMPLE_LOAD_FORMATS as SAMPLE_LOAD_FORMATS
    from .loads import Loads as Loads
    from .loads import load_paths as load_paths
    from .loads import read_loads as read_loads
    from .loads import write_loads as write_loads
    from .plans import FORMATS as FORMATS
    from .plans import PLAN_SUFFIXES as PLAN_SUFFIXES
    from .plans import PlanFormat as PlanFormat
    from .plans import engine_step as engine_step
    from .plans import plan_document as plan_document
    from .plans import plan_format as plan_format
    from .plans import read_plan as read_plan
    from .plans import sglang_table as sglang_table
    from .plans import write_plan as write_plan

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "loads": [
            "LOAD_FORMATS",
            "LOAD_SUFFIXES",
            "Loads",
            "SAMPLE_LOAD_FORMATS",
            "load_paths",
            "read_loads",
            "write_loads",
        ],
        "plans": [
            "FORMATS",
            "PLAN_SUFFIXES",
            "PlanFormat",
            "engine_step",
            "plan_document",
            "plan_format",
            "read_plan",
            "sglang_table",
            "write_plan",
        ],
    },
)
