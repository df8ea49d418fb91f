"""Serving DeepSeek-V3/R1: a day's cost and margin, a per-layer roofline of a deployment unit's throughput,
and the nodes a day of tokens needs (the ``flyer inference`` group)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "cost": ["DEFAULT_PRICES", "DayCost", "Prices", "day_cost", "presets", "prices"],
        "roofline": [
            "DEFAULT_CACHE_HIT",
            "DEFAULT_SPEED_SLO",
            "PUBLISHED",
            "Estimate",
            "Layer",
            "Op",
            "Point",
            "estimate",
        ],
        "factors": ["Factor"],
        "planning": ["DayPlan", "Hour", "diurnal", "plan_day", "read_curve"],
    },
)
