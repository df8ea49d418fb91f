"""Pipeline-parallel schedules: generation and event simulation on the compiled core, pictures, real runs.

``measure`` and ``run`` need torch, which is imported only when they are used.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "measurement": ["MeasureResult", "block_dims", "measure", "measure_and_simulate"],
        "render": ["Band", "SvgLayout", "chrome_trace", "nice_ticks", "svg", "svg_layout", "timeline_bands"],
        "runner": ["BACKENDS", "RunConfig", "RunResult", "check", "run"],
        "schedules": [
            "KINDS",
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
        ],
    },
)
