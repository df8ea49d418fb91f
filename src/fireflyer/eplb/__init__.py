"""Expert-parallel load balancing: DeepSeek-parity plans, a better-balanced policy, migration-aware
rebalancing; loads from SGLang, TensorRT-LLM and vLLM; plans SGLang and TensorRT-LLM load; a vLLM policy."""

from .._lazy import attach

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
