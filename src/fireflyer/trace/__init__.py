"""Profiler traces of any job: capture on every rank without code changes, compute/communication overlap
of per-rank traces (streamed through the compiled core), merge and diff.

``capture`` and ``step`` import torch when they are used; nothing else here does.
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .analysis import COMM_PATTERNS as COMM_PATTERNS
    from .analysis import STRAGGLER_OVER_MEDIAN_PCT as STRAGGLER_OVER_MEDIAN_PCT
    from .analysis import Analysis as Analysis
    from .analysis import RankFigures as RankFigures
    from .analysis import analyze as analyze
    from .analysis import comm_matcher as comm_matcher
    from .analysis import trace_files as trace_files
    from .capturing import ProfilerSchedule as ProfilerSchedule
    from .capturing import Settings as Settings
    from .capturing import capture as capture
    from .capturing import step as step
    from .comparison import Comparison as Comparison
    from .comparison import diff as diff
    from .host_metrics import Sampler as Sampler
    from .merging import ALIGNMENTS as ALIGNMENTS
    from .merging import MergeResult as MergeResult
    from .merging import merge as merge
    from .running import CaptureRun as CaptureRun
    from .running import run as run

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
        "capturing": ["ProfilerSchedule", "Settings", "capture", "step"],
        "running": ["CaptureRun", "run"],
        "comparison": ["Comparison", "diff"],
        "host_metrics": ["Sampler"],
        "merging": ["ALIGNMENTS", "MergeResult", "merge"],
    },
)
