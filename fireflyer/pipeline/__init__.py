"""Pipeline-parallel schedules: generation and event simulation on the compiled core, pictures, real runs."""

from .render import chrome_trace, svg, timeline_rows
from .schedules import KINDS, SCHEDULES, Schedule, check_config, devices_for_stages, formula_bubble, generate
from .simulate import ChunkTimes, RankStats, SimResult, compare, simulate, simulate_schedule, summarize, sweep, sweep_csv

__all__ = [
    "KINDS", "SCHEDULES", "ChunkTimes", "RankStats", "Schedule", "SimResult", "check_config", "chrome_trace",
    "compare", "devices_for_stages", "formula_bubble", "generate", "simulate", "simulate_schedule", "summarize",
    "svg", "sweep", "sweep_csv", "timeline_rows",
]
