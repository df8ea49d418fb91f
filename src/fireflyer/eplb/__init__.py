"""Expert-parallel load balancing: DeepSeek-parity plans, a better-balanced policy, migration-aware
rebalancing; loads from SGLang, TensorRT-LLM and vLLM; plans SGLang and TensorRT-LLM load; a vLLM policy.

One entry per ``flyer eplb`` command, each returning the record its ``--json`` prints: ``plan_file``
(PlanResult), ``evaluate_files`` (Evaluation), ``diff_files`` (Diff), ``rebalance`` (RebalanceResult, the
cron job), ``collect`` (CollectResult: a load from a running SGLang server), ``write_sample``
(SampleResult)."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .collect import CollectJob as CollectJob
    from .collect import CollectResult as CollectResult
    from .collect import collect as collect
    from .cron import SYSTEMD_UNIT as SYSTEMD_UNIT
    from .cron import RebalanceResult as RebalanceResult
    from .cron import rebalance as rebalance
    from .cron import write_systemd as write_systemd
    from .formats import FORMATS as FORMATS
    from .formats import LOAD_FORMATS as LOAD_FORMATS
    from .formats import LOAD_SUFFIXES as LOAD_SUFFIXES
    from .formats import PLAN_SUFFIXES as PLAN_SUFFIXES
    from .formats import SAMPLE_LOAD_FORMATS as SAMPLE_LOAD_FORMATS
    from .formats import Loads as Loads
    from .formats import PlanFormat as PlanFormat
    from .formats import engine_step as engine_step
    from .formats import load_paths as load_paths
    from .formats import plan_document as plan_document
    from .formats import plan_format as plan_format
    from .formats import read_loads as read_loads
    from .formats import read_plan as read_plan
    from .formats import sglang_table as sglang_table
    from .formats import write_loads as write_loads
    from .formats import write_plan as write_plan
    from .layouts import MAX_LAYERS as MAX_LAYERS
    from .layouts import LayerIds as LayerIds
    from .layouts import Layout as Layout
    from .layouts import expert_bytes as expert_bytes
    from .layouts import layer_ids as layer_ids
    from .layouts import layout as layout
    from .layouts import redundant_experts as redundant_experts
    from .metrics import Diff as Diff
    from .metrics import Evaluation as Evaluation
    from .metrics import align_loads as align_loads
    from .metrics import copies as copies
    from .metrics import diff as diff
    from .metrics import evaluate as evaluate
    from .metrics import gpu_loads as gpu_loads
    from .planning import Imbalance as Imbalance
    from .planning import Planned as Planned
    from .planning import PlanResult as PlanResult
    from .planning import plan_file as plan_file
    from .planning import plan_loads as plan_loads
    from .reports import diff_files as diff_files
    from .reports import evaluate_files as evaluate_files
    from .samples import SAMPLE_DEPLOYMENT as SAMPLE_DEPLOYMENT
    from .samples import SAMPLE_MODEL as SAMPLE_MODEL
    from .samples import SampleFormat as SampleFormat
    from .samples import SampleKind as SampleKind
    from .samples import SampleResult as SampleResult
    from .samples import generate_load as generate_load
    from .samples import sample_load as sample_load
    from .samples import write_sample as write_sample
    from .solver import POLICIES as POLICIES
    from .solver import Plan as Plan
    from .solver import Policy as Policy
    from .solver import as_loads as as_loads
    from .solver import imbalance as imbalance
    from .solver import plan as plan
    from .solver import rebalance_experts as rebalance_experts
    from .vllm_policy import BalancedEplbPolicy as BalancedEplbPolicy

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "collect": ["CollectJob", "CollectResult", "collect"],
        "cron": ["RebalanceResult", "SYSTEMD_UNIT", "rebalance", "write_systemd"],
        "formats": [
            "FORMATS",
            "LOAD_FORMATS",
            "LOAD_SUFFIXES",
            "Loads",
            "PLAN_SUFFIXES",
            "PlanFormat",
            "SAMPLE_LOAD_FORMATS",
            "engine_step",
            "load_paths",
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
        "metrics": ["Diff", "Evaluation", "align_loads", "copies", "diff", "evaluate", "gpu_loads"],
        "planning": ["Imbalance", "PlanResult", "Planned", "plan_file", "plan_loads"],
        "reports": ["diff_files", "evaluate_files"],
        "samples": [
            "SAMPLE_DEPLOYMENT",
            "SAMPLE_MODEL",
            "SampleFormat",
            "SampleKind",
            "SampleResult",
            "generate_load",
            "sample_load",
            "write_sample",
        ],
        "solver": ["POLICIES", "Plan", "Policy", "as_loads", "imbalance", "plan", "rebalance_experts"],
        "vllm_policy": ["BalancedEplbPolicy"],
    },
)
