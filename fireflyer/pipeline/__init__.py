"""Pipeline-parallel schedules: generation and event simulation on the compiled core, pictures, real runs.

`run` imports torch only when called, so `import fireflyer.pipeline` stays fast.
"""

from .render import chrome_trace, svg, timeline_rows
from .run import BACKENDS, RunConfig, RunResult, check, run
from .schedules import KINDS, SCHEDULES, Schedule, check_config, devices_for_stages, formula_bubble, generate
from .simulate import (
    ChunkTimes,
    RankStats,
    SimResult,
    compare,
    simulate,
    simulate_schedule,
    summarize,
    sweep,
    sweep_csv,
)

__all__ = [
    "BACKENDS", "KINDS", "SCHEDULES", "ChunkTimes", "RankStats", "RunConfig", "RunResult", "Schedule", "SimResult",
    "check", "check_config", "chrome_trace", "compare", "devices_for_stages", "formula_bubble", "generate", "run",
    "simulate", "simulate_schedule", "summarize", "svg", "sweep", "sweep_csv", "timeline_rows",
]
