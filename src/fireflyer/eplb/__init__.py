"""Expert-parallel load balancing: DeepSeek-parity plans, a better-balanced policy, migration-aware
rebalancing, plan formats for SGLang, vLLM and TensorRT-LLM."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "cron": ["Outcome", "rebalance"],
        "io": ["FORMATS", "plan_document", "read_loads", "read_plan", "sample_loads", "write_plan"],
        "layout": ["Layout", "expert_bytes", "layout", "redundant_experts"],
        "metrics": ["copies", "diff", "evaluate", "gpu_loads"],
        "solver": ["POLICIES", "Plan", "as_loads", "imbalance", "plan", "rebalance_experts"],
    },
)
