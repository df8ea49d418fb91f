"""`flyer trace ... --plot`: where each rank's time goes (analyze) and what got slower (diff).

``PLOTS`` maps a command, keyed as the module's ``RESULTS``, to a function of its record returning a
figure; ``TABLES`` to its key table for ``flyer report``. Matplotlib is imported only through ``plotting``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...trace.analysis import Analysis, RankFigures
from ...trace.comparison import Comparison
from . import plotting as p
from .trace import _name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_BARS = 64
"""The most bars the per-rank picture draws; more ranks are binned, a bar standing for several."""
TOP_CHANGES = 20
"""Rows of the diff drawn (the record's largest changes, in its order)."""

# What a rank's span is made of, bottom to top: (label, colour, hatch). Hatches keep them apart in grey.
PARTS = (
    ("computation alone", p.BLUE, ""),
    ("communication hidden under it", p.SKY_BLUE, "//"),
    ("communication exposed", p.VERMILLION, "xx"),
    ("copies and sets alone", p.YELLOW, ".."),
    ("idle", "#d9d9d9", ""),
)
CPU_PARTS = (
    ("computation (outside communication)", p.BLUE, ""),
    ("communication", p.VERMILLION, "xx"),
    ("idle", "#d9d9d9", ""),
)


def _who(e: RankFigures) -> str:
    return str(e.rank) if e.rank is not None else Path(e.file).name


def _parts(e: RankFigures, cpu: bool) -> list[float]:
    """The rank's span split into PARTS (or CPU_PARTS), in microseconds; they sum to the span."""
    if cpu:
        c = e.cpu
        if c is None:
            return [0.0, 0.0, 0.0]
        return [c.compute_us, c.comm_us, max(c.span_us - c.busy_us, 0.0)]
    union = e.compute_us + e.comm_us - e.overlap_us
    return [
        e.compute_us - e.overlap_us,
        e.overlap_us,
        e.exposed_comm_us,
        max(e.busy_us - union, 0.0),
        max(e.span_us - e.busy_us, 0.0),
    ]


def _is(e: RankFigures, s: Any) -> bool:
    return s is not None and (e.rank, e.file, e.device) == (s.rank, s.file, s.device)


def _scale(us: float) -> tuple[float, str]:
    return (1000.0, "ms") if us >= 1000 else (1.0, "us")


def analyzed(a: Analysis) -> Figure:
    """Per rank, a stacked bar of its span: computation alone, communication hidden under it, exposed
    communication, copies and sets alone, idle; the straggler marked. Over ``MAX_BARS`` ranks, each bar is
    the mean of consecutive ranks, with a tick at the most compute among them, and the title says so."""
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Rectangle

    gpu = [e for e in a.ranks if e.kernels or e.memory_ops]
    cpu = not gpu
    entries = gpu or [e for e in a.ranks if e.cpu is not None] or list(a.ranks)
    parts = CPU_PARTS if cpu else PARTS
    values = np.array([_parts(e, cpu) for e in entries], dtype=np.float64).reshape(len(entries), len(parts))
    straggler = a.summary.straggler
    k = p.bins(len(entries), MAX_BARS)
    n = -(-len(entries) // k)
    sums = np.zeros((n, len(parts)))
    np.add.at(sums, np.arange(len(entries)) // k, values)
    counts = np.bincount(np.arange(len(entries)) // k, minlength=n)
    shown = sums / counts[:, None]
    factor, unit = _scale(float(shown.sum(axis=1).max(initial=0.0)))
    fig = p.figure(7.0, 4.2)
    ax = fig.add_subplot()
    x = np.arange(n)
    bottom = np.zeros(n)
    for j, (label, color, hatch) in enumerate(parts):
        # NOTE: one collection per part, not ax.bar: 320 bar patches take most of a second to add
        boxes = [
            [(i - 0.4, b), (i - 0.4, b + h), (i + 0.4, b + h), (i + 0.4, b)]
            for i, b, h in zip(x, bottom, shown[:, j] / factor)
        ]
        thin = n > 32  # hatches on thin bars are noise, not a pattern
        ax.add_collection(
            PolyCollection(
                boxes,
                label=label,
                facecolors=color,
                hatch=None if thin else hatch,
                edgecolors="white" if not hatch or thin else "#404040",
                linewidths=0.3,
            )
        )
        bottom += shown[:, j] / factor
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, max(float(bottom.max(initial=0.0)), 1e-9) * 1.05)
    names = [_who(e) for e in entries]
    p.ticks(ax, names[::k], most=32 if k == 1 else 8)  # a binned bar is labelled by its first rank
    if k > 1:
        compute = values[:, 0] + (0 if cpu else values[:, 1])
        most = np.full(n, -np.inf)
        np.maximum.at(most, np.arange(len(entries)) // k, compute)
        ax.scatter(
            x,
            most / factor,
            marker="_",
            s=60,
            color=p.BLACK,
            zorder=3,
            label="most compute of the bar's ranks",
        )
    mark = next((i for i, e in enumerate(entries) if _is(e, straggler)), None)
    if mark is not None and straggler is not None:
        i = mark // k
        over = f" (+{straggler.over_median_pct:.0f}% over median)" if straggler.over_median_pct else ""
        ax.annotate(
            f"straggler: rank {_who(entries[mark])}{over}",
            xy=(i, bottom[i]),
            xytext=(0, 14),
            textcoords="offset points",
            ha="left" if i == 0 and n > 1 else "right" if i == n - 1 and n > 1 else "center",
            fontsize=8,
            color=p.VERMILLION,
            arrowprops={"arrowstyle": "->", "color": p.VERMILLION},
        )
        ax.add_patch(
            Rectangle(
                (i - 0.4, 0),
                0.8,
                bottom[i],
                fill=False,
                edgecolor=p.VERMILLION,
                linewidth=1.6,
                label="straggler",
            )
        )
        ax.set_ylim(0, max(float(bottom.max(initial=0.0)), 1e-9) * 1.15)
    what = "CPU operators per rank (no device kernels)" if cpu else "Where each rank's time goes"
    note = (
        f"(aggregated: {len(entries)} ranks, each bar = the mean of {k} consecutive ranks)" if k > 1 else ""
    )
    ranks = f"{len(entries)} rank" + ("s" if len(entries) != 1 else "")
    p.title(ax, f"{what}: {ranks}, straggler {'marked' if mark is not None else 'none'}", note)
    ax.set_xlabel("rank" if k == 1 else f"ranks ({k} per bar)")
    ax.set_ylabel(f"time in the rank's span ({unit})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.grid(axis="x", visible=False)
    return fig


def diffed(d: Comparison) -> Figure:
    """The largest changes from A to B as horizontal bars (slower: vermilion, to the right; faster: green,
    to the left), largest at the top; the record's order and at most ``TOP_CHANGES`` rows."""
    from matplotlib.patches import Patch

    rows = d.rows[:TOP_CHANGES]
    per = "per step" if d.per == "step" else "per rank"
    factor, unit = _scale(max((abs(r.delta_us) for r in rows), default=0.0))
    fig = p.figure(8.0, max(2.4, 1.2 + 0.26 * len(rows)))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    ax.barh(
        y,
        [r.delta_us / factor for r in rows],
        0.7,
        color=[p.BAD if r.delta_us > 0 else p.GOOD for r in rows],
        edgecolor="none",
    )
    ax.set_yticks(y, [_name(r.name) + ("  (new)" if r.delta_pct is None else "") for r in rows])
    ax.invert_yaxis()
    ax.axvline(0, color=p.BLACK, linewidth=0.8)
    ax.set_xlabel(
        f"change in {'kernel' if d.what == 'kernels' else 'CPU op self'} time, B - A ({unit} {per})"
    )
    ax.set_ylabel("kernel" if d.what == "kernels" else "CPU operator")
    ax.grid(axis="y", visible=False)
    shown = f"top {len(rows)} of {len(d.rows)} listed" if len(d.rows) > len(rows) else f"{len(rows)} listed"
    fig.suptitle(f"What changed from A to B: {shown}, largest first", x=0.01, ha="left", fontsize=10)

    ax.legend(
        handles=[Patch(color=p.BAD, label="slower in B"), Patch(color=p.GOOD, label="faster in B")],
        loc="lower right",
        frameon=False,
    )
    if not rows:
        ax.text(0.5, 0.5, "no kernel in either trace", transform=ax.transAxes, ha="center")
    return fig


def _ms(us: float | None) -> str:
    return "-" if us is None else f"{us / 1000:.4g}"


def analyzed_table(a: Analysis) -> tuple[list[str], list[list[str]]]:
    """A row per rank (at most 16: the first, and the straggler): span, compute, comm, hidden %, idle %."""
    s = a.summary.straggler
    rows = [e for e in a.ranks if _is(e, s)] + [e for e in a.ranks if not _is(e, s)][:15]
    pct = lambda v: "-" if v is None else f"{v:.1f}%"  # noqa: E731
    return (
        ["rank", "span ms", "compute ms", "comm ms", "hidden", "idle", "straggler"],
        [
            [
                _who(e),
                _ms(e.span_us),
                _ms(e.compute_us),
                _ms(e.comm_us),
                pct(e.comm_hidden_pct),
                pct(e.idle_pct),
                "yes" if _is(e, s) else "",
            ]
            for e in rows
        ],
    )


def diffed_table(d: Comparison) -> tuple[list[str], list[list[str]]]:
    return (
        ["name", "kind", "A us", "B us", "delta us"],
        [
            [_name(r.name), r.kind, f"{r.a_us:.4g}", f"{r.b_us:.4g}", f"{r.delta_us:+.4g}"]
            for r in d.rows[:10]
        ],
    )


PLOTS: dict[str, Callable[[Any], Figure]] = {"analyze": analyzed, "diff": diffed}
TABLES: dict[str, Callable[[Any], tuple[Sequence[str], Sequence[Sequence[str]]]]] = {
    "analyze": analyzed_table,
    "diff": diffed_table,
}
