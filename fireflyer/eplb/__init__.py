"""Expert-parallel load balancing: DeepSeek-parity plans, a better-balanced policy, migration-aware
rebalancing, plan formats for SGLang, vLLM and TensorRT-LLM."""

from .cron import Outcome, rebalance
from .evaluate import copies, diff, evaluate, gpu_loads
from .io import FORMATS, plan_document, read_loads, read_plan, sample_loads, write_plan
from .rebalance import (
    POLICIES,
    Plan,
    as_loads,
    check_layout,
    check_plan_matches,
    imbalance,
    plan,
    rebalance_experts,
)

__all__ = [
    "FORMATS", "POLICIES", "Outcome", "Plan", "as_loads", "check_layout", "check_plan_matches", "copies", "diff", "evaluate", "gpu_loads",
    "imbalance", "plan", "plan_document", "read_loads", "read_plan", "rebalance", "rebalance_experts",
    "sample_loads", "write_plan",
]
