"""``flyer inference`` pictures (``--plot``): an estimate's time per layer split into compute, memory and
communication, beside the decode frontier (node throughput against per-user speed); a day plan's nodes
hour by hour. Each function takes the command's record (``commands.inference.RESULTS``) and returns a
matplotlib Figure (``views.plotting`` writes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...inference import DayPlan, Estimate
from . import plotting as style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PARTS = (
    ("compute_us", "compute-bound ops", style.BLUE, ""),
    ("memory_us", "memory-bound ops", style.ORANGE, "//"),
    ("comm_us", "communication", style.GREEN, ".."),
)
"""Each part of a layer's time: field, name, colour and hatch (so a grey print tells them apart)."""
PUBLISHED_SPEED = (20.0, 22.0)
"""Tokens/s per user DeepSeek published for decode (Inference System Overview, 2025-03-01)."""


def _layers(ax: Axes, e: Estimate) -> None:
    height = 0.26
    for i, layer in enumerate(e.layers):
        for j, (field, name, colour, hatch) in enumerate(PARTS):
            ax.barh(
                i + (j - 1) * height,
                getattr(layer, field),
                height=height,
                color=colour,
                hatch=hatch,
                edgecolor="white",
                label=name if i == 0 else None,
            )
        ax.plot(
            [layer.time_us],
            [i],
            marker="|",
            markersize=22,
            markeredgewidth=2.2,
            color=style.BLACK,
            linestyle="none",
            label="layer time after overlap" if i == 0 else None,
        )
    ax.set_yticks(range(len(e.layers)), [f"{x.layer} x{x.count}\n({x.bound}-bound)" for x in e.layers])
    ax.set_ylim(len(e.layers) - 0.5, -0.5)
    ax.set_xlabel("time per layer per step (µs)")
    ax.set_title("time per layer, by what bounds each op", loc="left")
    _legend_below(ax)


def _legend_below(ax: Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize=7, frameon=False)


def _frontier(ax: Axes, e: Estimate) -> None:
    points = e.frontier or []
    x = [p.tokens_per_s_per_user for p in points]
    y = [p.tokens_per_s_per_node for p in points]
    ax.plot(x, y, **style.series(0), label="frontier (batch per GPU at each point)")
    for p in points:
        ax.annotate(
            str(p.batch),
            (p.tokens_per_s_per_user, p.tokens_per_s_per_node),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=7,
        )
    if e.tokens_per_s_per_user is not None:
        ax.plot(
            [e.tokens_per_s_per_user],
            [e.tokens_per_s_per_node],
            marker="*",
            markersize=14,
            color=style.VERMILLION,
            linestyle="none",
            label=f"this estimate: batch {e.batch}",
        )
    if e.published is not None:
        style.reference(
            ax,
            e.published.tokens_per_s_per_node,
            f"DeepSeek's {e.published.tokens_per_s_per_node:,.0f}",
            e.published.source,
        )
    ax.axvspan(
        *PUBLISHED_SPEED, color=style.SKY_BLUE, alpha=0.25, label="DeepSeek's 20-22 per user (same source)"
    )
    ax.set_xlabel("speed per user (output tokens/s)")
    ax.set_ylabel("node throughput (output tokens/s)")
    ax.set_title("decode frontier", loc="left")
    _legend_below(ax)


def plot_estimate(e: Estimate) -> Figure:
    """Time per layer split into compute, memory and communication; in decode with ``--frontier``, the
    frontier of node throughput against per-user speed beside it."""
    frontier = bool(e.frontier)
    fig = style.figure(11.0 if frontier else 7.0, 5.6)
    if frontier:
        left, right = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
        _frontier(right, e)
    else:
        left = fig.add_subplot()
    _layers(left, e)
    ratio = f" ({e.published.ratio:.2f}x DeepSeek's published)" if e.published else ""
    hint = "" if frontier or e.phase != "decode" else "add --frontier for the decode frontier"
    style.heading(
        fig,
        f"inference estimate: {e.deployment} on {e.hardware}: {e.tokens_per_s_per_node:,.0f} tokens/s "
        f"per node{ratio}",
        f"{e.phase}, context {e.context}, batch {e.batch} per GPU ({e.batch_from}); step {e.step_us:,.0f} µs",
        hint,
    )
    return fig


def plot_plan(p: DayPlan) -> Figure:
    """Prefill and decode nodes hour by hour (stacked), beside DeepSeek's published peak and average."""
    fig = style.figure(8.0, 4.2)
    ax = fig.add_subplot()
    hours = [h.hour for h in p.hours]
    prefill = [h.prefill_nodes for h in p.hours]
    decode = [h.decode_nodes for h in p.hours]
    ax.bar(hours, prefill, color=style.BLUE, label="prefill nodes", edgecolor="white")
    ax.bar(
        hours, decode, bottom=prefill, color=style.ORANGE, hatch="//", label="decode nodes", edgecolor="white"
    )
    source = p.source.split(":")[0]  # the document; its words are in the record (and --json)
    style.reference(ax, p.published_peak_nodes, f"DeepSeek peak {p.published_peak_nodes:g} nodes", source)
    style.reference(
        ax,
        p.published_average_nodes,
        f"DeepSeek average {p.published_average_nodes:g} nodes",
        source,
        linestyle=":",
    )
    style.reference(
        ax,
        p.average_nodes,
        f"this plan's average {p.average_nodes:.1f}",
        "node-hours / 24",
        color=style.VERMILLION,
        linestyle="-.",
    )
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of the day (from 00:00)")
    ax.set_ylabel("nodes (whole deployment units)")
    # NOTE: under the picture: above the panel, the sources' long names squeezed it to a sliver
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower left", ncol=2, fontsize=7, frameon=False)
    style.heading(
        fig,
        f"inference plan: {p.node_hours:,.0f} node-hours, peak {p.peak_nodes} nodes ({p.curve} curve, "
        f"{p.hardware})",
    )
    return fig


PLOTS = {"estimate": plot_estimate, "plan": plot_plan}
"""Command (as ``RESULTS`` names it) -> its picture."""
