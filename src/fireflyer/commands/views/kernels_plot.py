"""``flyer kernels`` pictures (``--plot``): the device's roofline with each case of a bench run, and a
comparison as before/after per case with the regressions marked. Each function takes the command's record
(``commands.kernels.RESULTS``) and returns a matplotlib Figure (``views.plotting`` writes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ...kernels.results import CompareReport, Report, Result, shape_label
from . import plotting as style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_KEYED = 120
"""Cases named in the key under the picture (the default suite has 84); past this the key says how many it
leaves out."""
MAX_ROWS = 60
"""Comparison rows drawn; past this, every regression and the most changed of the rest (the title says)."""


def _series(results: list[Result]) -> dict[str, dict[str, Any]]:
    """One style per backend, in order of appearance, the same in every panel (the key names the
    operation of each case)."""
    keys = dict.fromkeys(r.backend for r in results)
    return {k: style.series(i) for i, k in enumerate(keys)}


def _roofline(
    ax: Axes, report: Report, timed: list[Result], numbers: dict[str, int], styles: dict[str, dict[str, Any]]
) -> int:
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
    highest: dict[int, tuple[float, float]] = {}
    for r, x, y in zip(timed, intensity, rates):
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
        if y > highest.get(n, (0.0, 0.0))[1]:
            highest[n] = (x, y)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    _no_minor_ticks(ax)
    skipped = _number(ax, highest)
    ax.set_xlabel("arithmetic intensity (FLOP/byte, log scale)")
    ax.set_ylabel("achieved rate (TFLOP/s, log scale)")
    what = "operations with FLOPs: the roofline"
    # NOTE: above the panel, not loc="best" (its search took a fifth of the picture's time; and inside, the
    # legend hid the roofs where they meet)
    legend = ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=7, frameon=False)
    rows = -(-len(legend.get_texts()) // 2)
    title = f"{what} ({skipped} numbers left off where they overprint)" if skipped else what
    ax.set_title(title, loc="left", pad=6 + 11 * rows)
    return skipped


def _no_minor_ticks(ax: Axes) -> None:
    """Log axes without minor ticks (they cost more to lay out than the rest of an axis, and add nothing
    here)."""
    from matplotlib.ticker import NullLocator

    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())


def _number(ax: Axes, top: dict[int, tuple[float, float]]) -> int:
    """Number each case once, beside its highest point (one case has one intensity, so its backends are a
    column), to the right or else to the left, skipping a number that would overprint one already placed;
    returns how many were skipped (the key still names every case)."""
    import math

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    box, fig = ax.get_position(), cast("Figure", ax.figure)
    width_in, height_in = box.width * fig.get_figwidth(), box.height * fig.get_figheight()
    lx, ly = math.log10(x1 / x0), math.log10(y1 / y0)
    placed: list[tuple[float, float, float, float]] = []
    skipped = 0
    for n, (x, y) in sorted(top.items()):
        fx, fy = math.log10(x / x0) / lx * width_in, math.log10(y / y0) / ly * height_in
        w, h = 0.07 * (len(str(n)) + 1) + 0.02, 0.11  # NOTE: inches of "#n" at 7 points, with a margin
        for right in (True, False):
            left = fx + 0.06 if right else fx - 0.06 - w
            cand = (left, fy - h / 2, left + w, fy + h / 2)
            if all(cand[2] <= p[0] or p[2] <= cand[0] or cand[3] <= p[1] or p[3] <= cand[1] for p in placed):
                placed.append(cand)
                ax.annotate(
                    f"#{n}",
                    (x, y),
                    xytext=(5 if right else -5, 0),
                    textcoords="offset points",
                    ha="left" if right else "right",
                    va="center",
                    fontsize=7,
                )
                break
        else:
            skipped += 1
    return skipped


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
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, borderaxespad=0)
    ax.set_xscale("log")
    _no_minor_ticks(ax)
    ax.set_xlabel("achieved bandwidth (GB/s, log scale)")
    ax.set_title("no FLOPs (dispatch, combine)", loc="left", pad=16 if link else 6)


def plot_bench(report: Report) -> Figure:
    """The roofline of the device (memory and compute roofs from its profile) with each timed case as a
    point numbered by its shape (the key under the picture); a case that failed its check is an X in
    vermillion. Cases without FLOPs (dispatch/combine) get a bandwidth panel beside it."""
    timed = [r for r in report.results if r.median_us is not None]
    cases = list(dict.fromkeys(f"{r.op} {shape_label(r.op, r.shape)}" for r in report.results))
    numbers = {c: i + 1 for i, c in enumerate(cases)}
    flops = [r for r in timed if r.flops > 0 and r.bytes > 0]
    bw_only = [r for r in timed if r.flops <= 0 and r.gbps is not None]
    fig = style.figure(10.0 if bw_only else 7.5, 4.8)
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
    style.key(fig, [f"#{i + 1} {c}" for i, c in enumerate(cases)], title="cases", most=MAX_KEYED)
    return fig


def plot_compare(report: CompareReport) -> Figure:
    """Baseline and current median per case on one time axis (a line from one to the other); a regression
    (slower beyond the threshold, or incorrect) is a vermillion X with its change, faster cases green.
    Rows are numbered by case (the key under the picture) and named by backend."""
    from matplotlib.collections import LineCollection

    rows = [r for r in report.rows if r.baseline_us is not None or r.current_us is not None]
    note = ""
    if len(rows) > MAX_ROWS:
        bad = [r for r in rows if r.status in ("slower", "incorrect")]
        rest = sorted((r for r in rows if r not in bad), key=lambda r: -abs(r.change_pct or 0.0))
        shown = bad[:MAX_ROWS] + rest[: max(0, MAX_ROWS - len(bad))]
        note = f"{len(shown)} of {len(rows)} rows shown: " + (
            f"the first {MAX_ROWS} of the {len(bad)} regressions"
            if len(bad) >= MAX_ROWS
            else f"the {len(bad)} regressions and the {len(shown) - len(bad)} most changed of the rest"
        )
        rows = shown
    cases = list(dict.fromkeys(f"{r.op} {shape_label(r.op, r.shape)}" for r in rows))
    numbers = {c: i + 1 for i, c in enumerate(cases)}
    fig = style.figure(7.5, min(2.2 + 0.2 * max(len(rows), 1), 16.0))
    ax = fig.add_subplot()
    labels = [f"#{numbers[f'{r.op} {shape_label(r.op, r.shape)}']} {r.backend}" for r in rows]
    # NOTE: one artist per kind of mark, not per row (three per row took most of a second at 60 rows)
    both = [
        [(r.baseline_us, i), (r.current_us, i)] for i, r in enumerate(rows) if r.baseline_us and r.current_us
    ]
    ax.add_collection(LineCollection(both, colors="#999999", linewidths=1.0, zorder=1))
    base = [(r.baseline_us, i) for i, r in enumerate(rows) if r.baseline_us is not None]
    names = {"baseline": "baseline", "faster": "current: faster", "within": "current: within"}
    names["regression"] = f"regression (> {report.threshold_pct:g}%)"
    marks: dict[str, list[tuple[float, int]]] = {k: [] for k in names}
    marks["baseline"] = base
    for i, r in enumerate(rows):
        c = r.current_us
        if c is None:  # in the baseline only: say so beside it
            b = r.baseline_us or 1.0
            ax.annotate(
                r.status, (b, i), xytext=(7, -3), textcoords="offset points", fontsize=7, color="#777777"
            )
            continue
        regression = r.status in ("slower", "incorrect")
        marks["regression" if regression else "faster" if r.status == "faster" else "within"].append((c, i))
        text = r.status if r.change_pct is None else f"{r.change_pct:+.1f}%"
        ax.annotate(
            text, (max(r.baseline_us or c, c), i), xytext=(7, -3), textcoords="offset points", fontsize=7
        )
    looks: dict[str, dict[str, Any]] = {
        "baseline": {"marker": "o", "color": style.BLACK, "markerfacecolor": "white", "zorder": 2},
        "faster": {"marker": "o", "color": style.GOOD, "zorder": 3},
        "within": {"marker": "o", "color": style.NEUTRAL, "zorder": 3},
        "regression": {"marker": style.BAD_MARKER, "color": style.BAD, "markersize": 8, "zorder": 3},
    }
    for k, pts in marks.items():
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, linestyle="none", label=names[k], **looks[k])
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=4, fontsize=7, frameon=False)
    style.ticks(ax, labels, axis="y", most=MAX_ROWS)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xscale("log")
    _no_minor_ticks(ax)
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
