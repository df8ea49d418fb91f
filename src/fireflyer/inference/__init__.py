"""Serving DeepSeek-V3/R1: a day's cost and margin, a per-layer roofline of a deployment unit's throughput,
and the nodes a day of tokens needs (the ``flyer inference`` group)."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .cost import DEFAULT_PRICES as DEFAULT_PRICES
    from .cost import DayCost as DayCost
    from .cost import Prices as Prices
    from .cost import day_cost as day_cost
    from .cost import presets as presets
    from .cost import prices as prices
    from .cost import prices_given as prices_given
    from .factors import Factor as Factor
    from .planning import DayPlan as DayPlan
    from .planning import Hour as Hour
    from .planning import curve_given as curve_given
    from .planning import diurnal as diurnal
    from .planning import plan_day as plan_day
    from .planning import read_curve as read_curve
    from .roofline import DEFAULT_CACHE_HIT as DEFAULT_CACHE_HIT
    from .roofline import DEFAULT_SPEED_SLO as DEFAULT_SPEED_SLO
    from .roofline import PUBLISHED as PUBLISHED
    from .roofline import Estimate as Estimate
    from .roofline import Layer as Layer
    from .roofline import Op as Op
    from .roofline import Point as Point
    from .roofline import estimate as estimate

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "cost": ["DEFAULT_PRICES", "DayCost", "Prices", "day_cost", "presets", "prices", "prices_given"],
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
        "planning": ["DayPlan", "Hour", "curve_given", "diurnal", "plan_day", "read_curve"],
    },
)
