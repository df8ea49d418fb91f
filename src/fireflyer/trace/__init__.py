"""Profiler traces of any job: capture on every rank without code changes, compute/communication overlap
of per-rank traces (streamed through the compiled core), merge and diff.

``capture`` and ``step`` import torch when they are used; nothing else here does.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "analysis": [
            "COMM_PATTERNS",
            "STRAGGLER_OVER_MEDIAN_PCT",
            "Analysis",
            "RankFigures",
            "analyze",
            "comm_matcher",
            "trace_files",
        ],
        "capturing": ["CaptureRun", "Schedule", "Settings", "capture", "run", "step"],
        "comparison": ["Comparison", "diff"],
        "host_metrics": ["Sampler"],
        "merging": ["ALIGNMENTS", "MergeResult", "merge"],
        "synthetic": ["Expected", "generate", "generate_ranks"],
    },
)
