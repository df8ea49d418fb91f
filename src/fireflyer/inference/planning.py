"""Nodes a day of tokens needs, hour by hour: prefill and decode deployment units from the estimate, the
node-hours, peak and average nodes, and the day's cost and margin (``flyer inference plan``)."""

from __future__ import annotations

import math
import os

from msgspec import Struct

from .. import io as ffio
from ..errors import InputError
from . import cost as costs
from . import roofline

HOURS = 24
DIURNAL_AMPLITUDE = 0.5
DIURNAL_PEAK_HOUR = 14
PUBLISHED_PEAK_NODES = 278.0
PUBLISHED_AVERAGE_NODES = 226.75


class Hour(Struct, kw_only=True):
    hour: int
    share: float
    """This hour's share of the day's tokens."""
    prefill_nodes_needed: float
    decode_nodes_needed: float
    prefill_nodes: int
    """Whole prefill units (of the deployment's nodes)."""
    decode_nodes: int
    nodes: int


class DayPlan(Struct, kw_only=True):
    input_tokens: float
    output_tokens: float
    cache_hit: float
    curve: str
    speed_slo: float
    hardware: str
    prefill: roofline.Estimate
    decode: roofline.Estimate
    hours: list[Hour]
    node_hours: float
    peak_nodes: int
    average_nodes: float
    cost: costs.DayCost
    published_peak_nodes: float
    published_average_nodes: float
    peak_ratio: float
    average_ratio: float
    source: str


def diurnal() -> list[float]:
    """An assumed day (not DeepSeek's, which is unpublished): load proportional to 1 + 0.5 cos(2 pi (h - 14)
    / 24), peaking at 14:00."""
    return [
        1 + DIURNAL_AMPLITUDE * math.cos(2 * math.pi * (h - DIURNAL_PEAK_HOUR) / HOURS) for h in range(HOURS)
    ]


def curve_given(path: str | os.PathLike | None, diurnal_curve: bool) -> tuple[list[float] | None, str]:
    """The load curve a command was given and its name: a file, the assumed diurnal one, or flat (None)."""
    if path is not None and diurnal_curve:
        raise InputError("give --load-curve or --diurnal, not both", field="diurnal")
    if path is not None:
        return read_curve(path), str(path)
    return (diurnal(), "diurnal (assumed)") if diurnal_curve else (None, "flat")


def read_curve(path: str | os.PathLike) -> list[float]:
    """A load curve: a JSON or YAML list of 24 non-negative numbers (relative load per hour, from 00:00)."""
    data = ffio.load_document(path, what="load curve")
    if not isinstance(data, list) or len(data) != HOURS:
        raise InputError(f"expected a list of {HOURS} numbers, one per hour", file=str(path))
    for i, v in enumerate(data):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise InputError(f"expected a number >= 0, got {v!r}", file=str(path), field=f"[{i}]")
    if not sum(data):
        raise InputError("every hour is 0: the curve carries no load", file=str(path))
    return [float(v) for v in data]


def plan_day(
    input_tokens: float,
    output_tokens: float,
    *,
    cache_hit: float = roofline.DEFAULT_CACHE_HIT,
    curve: list[float] | None = None,
    curve_name: str = "flat",
    speed_slo: float = roofline.DEFAULT_SPEED_SLO,
    hardware: str | None = None,
    price: costs.Prices | None = None,
    gpu_hour_usd: float = 2.0,
    prefill: str = "deepseek-v3-prefill",
    decode: str = "deepseek-v3-decode",
    **estimate_kw,
) -> DayPlan:
    """Whole deployment units per hour for the day's input and output tokens spread by ``curve``."""
    for field, v in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if not (v >= 0 and math.isfinite(v)):
            raise InputError(f"must be a finite number >= 0, got {v}", field=field)
    weights = curve or [1.0] * HOURS
    total = sum(weights)
    pre = roofline.estimate(prefill, hardware=hardware, cache_hit=cache_hit, **estimate_kw)
    dec = roofline.estimate(decode, hardware=hardware, speed_slo=speed_slo, **estimate_kw)
    hours = []
    for h, w in enumerate(weights):
        share = w / total
        p = input_tokens * share / 3600 / pre.tokens_per_s_per_node
        d = output_tokens * share / 3600 / dec.tokens_per_s_per_node
        pn = math.ceil(p / pre.nodes - 1e-9) * pre.nodes
        dn = math.ceil(d / dec.nodes - 1e-9) * dec.nodes
        hours.append(
            Hour(
                hour=h,
                share=share,
                prefill_nodes_needed=p,
                decode_nodes_needed=d,
                prefill_nodes=pn,
                decode_nodes=dn,
                nodes=pn + dn,
            )
        )
    node_hours = float(sum(x.nodes for x in hours))
    average = node_hours / HOURS
    peak = max(x.nodes for x in hours)
    day = costs.day_cost(
        input_tokens=input_tokens,
        cache_hit_tokens=input_tokens * cache_hit,
        output_tokens=output_tokens,
        nodes=average,
        price=price or costs.prices(costs.DEFAULT_PRICES),
        gpus_per_node=pre.gpus_per_node,
        gpu_hour_usd=gpu_hour_usd,
    )
    return DayPlan(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_hit=cache_hit,
        curve=curve_name,
        speed_slo=speed_slo,
        hardware=pre.hardware,
        prefill=pre,
        decode=dec,
        hours=hours,
        node_hours=node_hours,
        peak_nodes=peak,
        average_nodes=average,
        cost=day,
        published_peak_nodes=PUBLISHED_PEAK_NODES,
        published_average_nodes=PUBLISHED_AVERAGE_NODES,
        peak_ratio=peak / PUBLISHED_PEAK_NODES,
        average_ratio=average / PUBLISHED_AVERAGE_NODES,
        source=roofline.OVERVIEW
        + ": 278 nodes at peak, 226.75 on average (inference only; at night DeepSeek "
        "lends nodes to research and training)",
    )
