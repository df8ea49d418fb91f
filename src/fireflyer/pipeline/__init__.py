"""Pipeline-parallel schedules: generation and event simulation on the compiled core, pictures, real runs.

``measure`` and ``run`` need torch, which is imported only when they are used.
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .measurement import block_dims as block_dims
    from .measurement import measure as measure
    from .measurement import measure_and_simulate as measure_and_simulate
    from .records import DistBackend as DistBackend
    from .records import Measurement as Measurement
    from .records import MeasureResult as MeasureResult
    from .records import RunReport as RunReport
    from .records import ScheduleComparison as ScheduleComparison
    from .records import ScheduleName as ScheduleName
    from .records import ScheduleRow as ScheduleRow
    from .records import Simulation as Simulation
    from .records import SweepRow as SweepRow
    from .records import SweepWritten as SweepWritten
    from .render import Band as Band
    from .render import SvgLayout as SvgLayout
    from .render import chrome_trace as chrome_trace
    from .render import measured_trace as measured_trace
    from .render import nice_ticks as nice_ticks
    from .render import svg as svg
    from .render import svg_layout as svg_layout
    from .render import timeline_bands as timeline_bands
    from .runner import BACKENDS as BACKENDS
    from .runner import RunConfig as RunConfig
    from .runner import RunResult as RunResult
    from .runner import check as check
    from .runner import run as run
    from .schedules import OP_KINDS as OP_KINDS
    from .schedules import SCHEDULES as SCHEDULES
    from .schedules import Schedule as Schedule
    from .schedules import check_config as check_config
    from .schedules import devices_for_stages as devices_for_stages
    from .schedules import formula_bubble as formula_bubble
    from .schedules import generate as generate
    from .simulator import ChunkTimes as ChunkTimes
    from .simulator import RankStats as RankStats
    from .simulator import SimResult as SimResult
    from .simulator import compare as compare
    from .simulator import simulate as simulate
    from .simulator import simulate_schedule as simulate_schedule
    from .simulator import summarize as summarize
    from .simulator import sweep as sweep
    from .simulator import sweep_csv as sweep_csv
    from .simulator import sweep_names as sweep_names
    from .simulator import sweep_size as sweep_size
    from .simulator import write_sweep as write_sweep

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "measurement": ["block_dims", "measure", "measure_and_simulate"],
        "records": [
            "DistBackend",
            "MeasureResult",
            "Measurement",
            "RunReport",
            "ScheduleComparison",
            "ScheduleName",
            "ScheduleRow",
            "Simulation",
            "SweepRow",
            "SweepWritten",
        ],
        "render": [
            "Band",
            "SvgLayout",
            "chrome_trace",
            "measured_trace",
            "nice_ticks",
            "svg",
            "svg_layout",
            "timeline_bands",
        ],
        "runner": ["BACKENDS", "RunConfig", "RunResult", "check", "run"],
        "schedules": [
            "OP_KINDS",
            "SCHEDULES",
            "Schedule",
            "check_config",
            "devices_for_stages",
            "formula_bubble",
            "generate",
        ],
        "simulator": [
            "ChunkTimes",
            "RankStats",
            "SimResult",
            "compare",
            "simulate",
            "simulate_schedule",
            "summarize",
            "sweep",
            "sweep_csv",
            "sweep_names",
            "sweep_size",
            "write_sweep",
        ],
    },
)
