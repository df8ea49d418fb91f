"""`flyer pipeline ... --plot`: the bubble of each schedule (compare) and against micro-batches (sweep).

``PLOTS`` maps a command, keyed as the module's ``RESULTS``, to a function of its record returning a
figure; ``TABLES`` to its key table for ``flyer report``. (``simulate --svg`` draws its own timeline.)
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ...pipeline.records import ScheduleComparison, SweepRow
from . import plotting as p

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_PANELS = 6
"""The most panels of a sweep (one per value of the other axis); more values are thinned evenly."""


def _pct(v: float | None) -> float:
    return float("nan") if v is None else 100.0 * v


def compared(c: ScheduleComparison | dict) -> Figure:
    """One bar per schedule: its bubble as a share of its makespan, labelled with both; a dash at the
    published formula's bubble (same share); a schedule that cannot run at these stages says why."""
    c = c if isinstance(c, ScheduleComparison) else msgspec.convert(c, ScheduleComparison)
    rows = c.schedules
    fig = p.figure(7.0, 4.2)
    ax = fig.add_subplot()
    x = list(range(len(rows)))
    ok = [r.error is None and r.bubble_fraction is not None for r in rows]
    ax.bar(
        x,
        [_pct(r.bubble_fraction) if good else 0.0 for r, good in zip(rows, ok)],
        0.7,
        color=[p.series(i)["color"] for i in x],
        edgecolor="none",
    )
    formula = [
        (i, 100.0 * r.formula_bubble / r.makespan)
        for i, r in enumerate(rows)
        if r.formula_bubble is not None and r.makespan
    ]
    if formula:
        ax.scatter(
            [i for i, _ in formula],
            [v for _, v in formula],
            marker="_",
            s=400,
            linewidths=2,
            color=p.BLACK,
            zorder=3,
            label="published formula's bubble (same share)",
        )
        ax.legend(loc="upper right", frameon=False)
    top = max([_pct(r.bubble_fraction) for r, good in zip(rows, ok) if good] + [1.0])
    for i, (r, good) in enumerate(zip(rows, ok)):
        text = (
            f"{r.bubble:.3g} / {r.makespan:.3g}\non {r.devices}"
            if good and r.bubble is not None and r.makespan is not None
            else "cannot run"
            if r.error
            else "deadlock"
        )
        ax.annotate(
            text,
            (i, _pct(r.bubble_fraction) if good else 0.0),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_ylim(0, top * 1.3)
    ax.set_xticks(x, [r.schedule for r in rows])
    ax.set_xlabel("schedule (labels: bubble / makespan in time units, on N devices)")
    ax.set_ylabel("bubble (% of makespan)")
    ax.grid(axis="x", visible=False)
    p.title(ax, f"Bubble of each schedule at {c.stages} stages, {c.microbatches} micro-batches")
    return fig


def _rows(rows: Sequence[SweepRow] | Sequence[dict]) -> list[SweepRow]:
    return [r if isinstance(r, SweepRow) else msgspec.convert(r, SweepRow) for r in rows]


def _thin(values: list[int], most: int) -> list[int]:
    if len(values) <= most:
        return values
    return [values[round(i * (len(values) - 1) / (most - 1))] for i in range(most)]


def swept(rows_in: Sequence[SweepRow] | Sequence[dict]) -> Figure:
    """Bubble (% of makespan) against micro-batches, a line per schedule, a panel per PP (or against PP,
    a panel per micro-batch count, where PP has more values than N); a point per case that ran. Where the
    chunk times or latency vary too, each point is the median over them, and the title says so."""
    from matplotlib.ticker import NullLocator

    rows = _rows(rows_in)
    good = [r for r in rows if r.error is None and not r.deadlocked and r.bubble_fraction is not None]
    ns = sorted({r.microbatches for r in rows})
    ps = sorted({r.ranks for r in rows})
    by_n = len(ns) >= len(ps)  # the axis with more values across, the other in panels
    xs_name, panel_name = ("microbatches", "ranks") if by_n else ("ranks", "microbatches")
    panels_all = ps if by_n else ns
    panels = _thin(panels_all, MAX_PANELS)
    combos = {(r.f, r.b, r.w, r.fb, r.latency) for r in good}
    schedules = list(dict.fromkeys(r.schedule for r in rows))
    shares = [_pct(r.bubble_fraction) for r in good]
    # a bubble falls as 1/N: on a linear axis the schedules merge near zero at large N
    log = bool(shares) and min(shares) > 0 and max(shares) / min(shares) > 10
    cols = min(len(panels), 3)
    nrows = -(-len(panels) // cols)
    fig = p.figure(3.2 * cols + 1.6, 2.6 * nrows + 0.9)
    axes = fig.subplots(nrows, cols, sharey=True, squeeze=False)
    for k, value in enumerate(panels):
        ax = axes[k // cols][k % cols]
        for i, s in enumerate(schedules):
            pts: dict[int, list[float]] = {}
            for r in good:
                if r.schedule == s and getattr(r, panel_name) == value:
                    pts.setdefault(getattr(r, xs_name), []).append(_pct(r.bubble_fraction))
            xs = sorted(pts)
            ax.plot(
                xs,
                [statistics.median(pts[x]) for x in xs],
                label=s if k == 0 else None,
                markersize=4 if len(xs) <= 64 else 0,
                **p.series(i),
            )
        ax.set_title(f"PP = {value}" if by_n else f"N = {value}", loc="left", fontsize=9)
        ax.set_xlabel("micro-batches per step (N)" if by_n else "pipeline ranks (PP)")
        if k % cols == 0:
            ax.set_ylabel(f"bubble (% of makespan{', log scale' if log else ''})")
    # NOTE: the panels share their y axis: set once, after every panel is drawn
    if log:
        axes[0][0].set_yscale("log")
        axes[0][0].yaxis.set_major_formatter("{x:g}")
        axes[0][0].yaxis.set_minor_locator(NullLocator())  # NOTE: minor log ticks on every panel cost 0.5 s
    else:
        axes[0][0].set_ylim(bottom=0)
    for k in range(len(panels), nrows * cols):
        fig.delaxes(axes[k // cols][k % cols])
    notes = []
    if len(panels) < len(panels_all):
        notes.append(f"{len(panels)} of {len(panels_all)} {'PP' if by_n else 'N'} values shown")
    if len(combos) > 1:
        notes.append(f"each point the median over {len(combos)} chunk-time/latency combinations")
    if len(good) < len(rows):
        notes.append(f"{len(rows) - len(good)} case(s) that cannot run or deadlock left out")
    fig.suptitle(
        f"Bubble against {'micro-batches' if by_n else 'pipeline ranks'}, per schedule"
        + (f"\n({'; '.join(notes)})" if notes else ""),
        x=0.01,
        ha="left",
        fontsize=10,
    )
    fig.legend(loc="outside right upper", frameon=False, title="schedule")
    return fig


def compared_table(c: ScheduleComparison) -> tuple[list[str], list[list[str]]]:
    g = lambda v: "-" if v is None else f"{v:.4g}"  # noqa: E731
    return (
        ["schedule", "devices", "makespan", "bubble", "bubble %", "formula", "error"],
        [
            [
                r.schedule,
                g(r.devices),
                g(r.makespan),
                g(r.bubble),
                g(_pct(r.bubble_fraction)) if r.bubble_fraction is not None else "-",
                g(r.formula_bubble),
                r.error or "",
            ]
            for r in c.schedules
        ],
    )


def swept_table(rows: Sequence[SweepRow]) -> tuple[list[str], list[list[str]]]:
    """Per schedule: the cases, those that ran, and the least and most bubble (%)."""
    out = []
    for s in dict.fromkeys(r.schedule for r in rows):
        mine = [r for r in rows if r.schedule == s]
        ran = [_pct(r.bubble_fraction) for r in mine if r.error is None and r.bubble_fraction is not None]
        lo, hi = (f"{min(ran):.3g}", f"{max(ran):.3g}") if ran else ("-", "-")
        out.append([s, str(len(mine)), str(len(ran)), lo, hi])
    return ["schedule", "cases", "ran", "least bubble %", "most bubble %"], out


PLOTS: dict[str, Callable[[Any], Figure]] = {"compare": compared, "sweep": swept}
TABLES: dict[str, Callable[[Any], tuple[Sequence[str], Sequence[Sequence[str]]]]] = {
    "compare": compared_table,
    "sweep": swept_table,
}
