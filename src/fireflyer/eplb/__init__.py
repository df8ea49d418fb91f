"""Expert-parallel load balancing: DeepSeek-parity plans, a better-balanced policy, migration-aware
rebalancing; loads from SGLang, TensorRT-LLM and vLLM; plans SGLang and TensorRT-LLM load; a vLLM policy."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .cron import Outcome as Outcome
    from .cron import rebalance as rebalance
    from .io import FORMATS as FORMATS
    from .io import LOAD_FORMATS as LOAD_FORMATS
    from .io import PLAN_SUFFIXES as PLAN_SUFFIXES
    from .io import Loads as Loads
    from .io import engine_step as engine_step
    from .io import load_paths as load_paths
    from .io import plan_document as plan_document
    from .io import plan_format as plan_format
    from .io import read_loads as read_loads
    from .io import read_plan as read_plan
    from .io import sglang_table as sglang_table
    from .io import write_loads as write_loads
    from .io import write_plan as write_plan
    from .layouts import MAX_LAYERS as MAX_LAYERS
    from .layouts import LayerIds as LayerIds
    from .layouts import Layout as Layout
    from .layouts import expert_bytes as expert_bytes
    from .layouts import layer_ids as layer_ids
    from .layouts import layout as layout
    from .layouts import redundant_experts as redundant_experts
    from .metrics import align_loads as align_loads
    from .metrics import copies as copies
    from .metrics import diff as diff
    from .metrics import evaluate as evaluate
    from .metrics import gpu_loads as gpu_loads
    from .planning import Planned as Planned
    from .planning import plan_loads as plan_loads
    from .samples import generate_load as generate_load
    from .samples import sample_load as sample_load
    from .solver import POLICIES as POLICIES
    from .solver import Plan as Plan
    from .solver import as_loads as as_loads
    from .solver import imbalance as imbalance
    from .solver import plan as plan
    from .solver import rebalance_experts as rebalance_experts
    from .vllm_policy import BalancedEplbPolicy as BalancedEplbPolicy

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "cron": ["Outcome", "rebalance"],
        "io": [
            "FORMATS",
            "LOAD_FORMATS",
            "Loads",
            "engine_step",
            "load_paths",
            "PLAN_SUFFIXES",
            "plan_document",
            "plan_format",
            "read_loads",
            "read_plan",
            "sglang_table",
            "write_loads",
            "write_plan",
        ],
        "layouts": [
            "LayerIds",
            "Layout",
            "MAX_LAYERS",
            "expert_bytes",
            "layer_ids",
            "layout",
            "redundant_experts",
        ],
        "metrics": ["align_loads", "copies", "diff", "evaluate", "gpu_loads"],
        "planning": ["Planned", "plan_loads"],
        "samples": ["generate_load", "sample_load"],
        "solver": ["POLICIES", "Plan", "as_loads", "imbalance", "plan", "rebalance_experts"],
        "vllm_policy": ["BalancedEplbPolicy"],
    },
)
