"""``flyer kernels`` pictures (``--plot``): the device's roofline with each case of a bench run, and a
comparison as before/after per case with the regressions marked. Each function takes the command's record
(``commands.kernels.RESULTS``) and returns a matplotlib Figure (``views.plotting`` writes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...kernels.results import CompareReport, Report, Result, shape_label
from . import plotting as style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_LABELLED = 40
"""Cases numbered on the picture and keyed beside it; more are drawn unlabelled (the title says so)."""
MAX_ROWS = 60
"""Comparison rows drawn; past this, every regression and the most changed of the rest (the title says)."""


def _series(results: list[Result]) -> dict[str, dict[str, Any]]:
    """One style per backend, in order of appearance, the same in every panel (the key names the
    operation of each case)."""
    keys = dict.fromkeys(r.backend for r in results)
    return {k: style.series(i) for i, k in enumerate(keys)}


def _roofline(
    ax: Axes, report: Report, timed: list[Result], numbers: dict[str, int], styles: dict[str, dict[str, Any]]
) -> None:
    roof = report.roof or {}
    intensity = [r.flops / r.bytes for r in timed]
    rates = [max(r.tflops or 0.0, 1e-9) for r in timed]
    lo = min([*intensity, 1.0]) / 3
    hi = max([*intensity, 10.0]) * 3
    profile = f"profile {roof.get('profile', '?')}"
    if roof.get("memory_gbps"):
        bw = float(roof["memory_gbps"]) / 1000  # TB/s: TFLOP/s per FLOP/byte
        peaks = [float(v) for v in roof.get("peak_tflops", {}).values()] or [max(rates, default=1.0)]
        top = max(peaks)
        ridge = top / bw
        end = min(ridge, hi)
        ax.plot(
            [lo, end],
            [lo * bw, end * bw],
            color=style.BLACK,
            linewidth=1.2,
            label=f"memory roof {roof['memory_gbps']:g} GB/s ({profile})",
        )
    for i, (dtype, peak) in enumerate(sorted(roof.get("peak_tflops", {}).items())):
        ls = style.LINESTYLES[1 + i % 3]
        style.reference(ax, float(peak), f"{dtype} compute roof {peak:g} TFLOP/s", profile, linestyle=ls)
    drawn: set[str] = set()
    for j, (r, x, y) in enumerate(zip(timed, intensity, rates)):
        key = r.backend
        s = styles[key]
        bad = not r.correct
        ax.plot(
            [x],
            [y],
            linestyle="none",
            marker=style.BAD_MARKER if bad else s["marker"],
            color=style.BAD if bad else s["color"],
            markersize=8 if bad else 6,
            label=None if key in drawn else key,
        )
        drawn.add(key)
        n = numbers[f"{r.op} {shape_label(r.op, r.shape)}"]
        if n <= MAX_LABELLED:  # NOTE: alternate sides, so labels of points at one intensity do not overprint
            right = j % 2 == 0
            ax.annotate(
                f"#{n}",
                (x, y),
                xytext=(5 if right else -5, 2),
                textcoords="offset points",
                ha="left" if right else "right",
                fontsize=7,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP/byte, log scale)")
    ax.set_ylabel("achieved rate (TFLOP/s, log scale)")
    ax.set_title("operations with FLOPs: the roofline", loc="left")
    ax.legend(loc="best", fontsize=7)


def _bandwidth(
    ax: Axes, report: Report, rows: list[Result], numbers: dict[str, int], styles: dict[str, dict[str, Any]]
) -> None:
    """Operations without FLOPs (expert-parallel dispatch and combine): GB/s against their roof."""
    roof = report.roof or {}
    for i, r in enumerate(rows):
        s = styles[r.backend]
        ax.plot(
            [r.gbps or 1e-9],
            [i],
            linestyle="none",
            marker=style.BAD_MARKER if not r.correct else s["marker"],
            color=style.BAD if not r.correct else s["color"],
            markersize=6,
        )
    labels = [f"#{numbers[f'{r.op} {shape_label(r.op, r.shape)}']} {r.backend}" for r in rows]
    style.ticks(ax, labels, axis="y", most=40)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    link = roof.get("link_gbps")
    if link:
        style.reference(ax, float(link), f"link roof {link:g} GB/s", f"profile {roof['profile']}", axis="x")
        ax.legend(loc="best", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("achieved bandwidth (GB/s, log scale)")
    ax.set_title("no FLOPs (dispatch, combine)", loc="left")


def plot_bench(report: Report) -> Figure:
    """The roofline of the device (memory and compute roofs from its profile) with each timed case as a
    point numbered by its shape (the key under the picture); a case that failed its check is an X in
    vermillion. Cases without FLOPs (dispatch/combine) get a bandwidth panel beside it."""
    timed = [r for r in report.results if r.median_us is not None]
    cases = list(dict.fromkeys(f"{r.op} {shape_label(r.op, r.shape)}" for r in report.results))
    numbers = {c: i + 1 for i, c in enumerate(cases)}
    flops = [r for r in timed if r.flops > 0 and r.bytes > 0]
    bw_only = [r for r in timed if r.flops <= 0 and r.gbps is not None]
    fig = style.figure(10.0 if bw_only else 7.5, 6.0)
    if bw_only:
        ax, side = fig.subplots(1, 2, width_ratios=[3, 2])
        _bandwidth(side, report, bw_only, numbers, _series(timed))
    else:
        ax = fig.add_subplot()
    _roofline(ax, report, flops, numbers, _series(timed))
    device = report.env.get("device_described") or report.env.get("device_name") or "this device"
    bad = sum(not r.correct for r in report.results)
    roof = report.roof or {}
    notes = [f"{len(timed)} timed results; {bad} failed their check (X)"] if bad else []
    if roof:
        notes.append(f"roofs: profile {roof.get('profile')}, {roof.get('source', 'no source given')}")
    style.heading(fig, f"kernels bench: the {report.suite.get('name', '?')} suite on {device}", *notes)
    style.key(fig, [f"#{i + 1} {c}" for i, c in enumerate(cases)], title="cases", most=MAX_LABELLED)
    return fig


def plot_compare(report: CompareReport) -> Figure:
    """Baseline and current median per case on one time axis (a line from one to the other); a regression
    (slower beyond the threshold, or incorrect) is a vermillion X with its change, faster cases green.
    Rows are numbered by case (the key under the picture) and named by backend."""
    rows = [r for r in report.rows if r.baseline_us is not None or r.current_us is not None]
    note = ""
    if len(rows) > MAX_ROWS:
        bad = [r for r in rows if r.status in ("slower", "incorrect")][:MAX_ROWS]
        rest = sorted((r for r in rows if r not in bad), key=lambda r: -abs(r.change_pct or 0.0))
        rest = rest[: MAX_ROWS - len(bad)]
        note = f"the {len(bad)} regressions and the {len(rest)} most changed of {len(rows)} cases"
        rows = bad + rest
    cases = list(dict.fromkeys(f"{r.op} {shape_label(r.op, r.shape)}" for r in rows))
    numbers = {c: i + 1 for i, c in enumerate(cases)}
    fig = style.figure(7.5, min(2.6 + 0.22 * max(len(rows), 1) + 0.12 * len(cases), 24.0))
    ax = fig.add_subplot()
    labels = [f"#{numbers[f'{r.op} {shape_label(r.op, r.shape)}']} {r.backend}" for r in rows]
    for i, r in enumerate(rows):
        b, c = r.baseline_us, r.current_us
        regression = r.status in ("slower", "incorrect")
        colour = style.BAD if regression else style.GOOD if r.status == "faster" else style.NEUTRAL
        if b is not None and c is not None:
            ax.plot([b, c], [i, i], color="#999999", linewidth=1.0, zorder=1)
        if b is not None:
            ax.plot([b], [i], "o", color=style.BLACK, markerfacecolor="white", zorder=2)
        if c is not None:
            marker = style.BAD_MARKER if regression else "o"
            ax.plot([c], [i], marker, color=colour, markersize=8 if regression else 5, zorder=3)
            text = r.status if r.change_pct is None else f"{r.change_pct:+.1f}%"
            ax.annotate(text, (max(b or c, c), i), xytext=(7, -3), textcoords="offset points", fontsize=7)
    handles = [
        ax.plot([], [], "o", color=style.BLACK, markerfacecolor="white")[0],
        ax.plot([], [], "o", color=style.GOOD)[0],
        ax.plot([], [], "o", color=style.NEUTRAL)[0],
        ax.plot([], [], style.BAD_MARKER, color=style.BAD)[0],
    ]
    names = ["baseline", "current: faster", "current: within", f"regression (> {report.threshold_pct:g}%)"]
    ax.legend(handles, names, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=4, fontsize=7, frameon=False)
    style.ticks(ax, labels, axis="y", most=MAX_ROWS)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xscale("log")
    ax.margins(x=0.15)
    ax.set_xlabel("median time per call (µs, log scale)")
    style.heading(
        fig,
        f"kernels compare: {report.regressions} regressions at threshold {report.threshold_pct:g}%",
        f"baseline {report.baseline_device}; current {report.current_device}",
        note,
    )
    style.key(fig, [f"#{n} {c}" for c, n in numbers.items()], title="cases", most=MAX_ROWS)
    return fig


PLOTS = {"bench": plot_bench, "compare": plot_compare}
"""Command (as ``RESULTS`` names it) -> its picture."""
