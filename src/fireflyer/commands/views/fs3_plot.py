"""``flyer fs3`` pictures (``--plot``): a chain table's node-pair matrix of shared chains (the balance made
visible) beside the histogram of pair counts, and a bench result beside the published figures scaled to the
nodes used. Each function takes the command's record (``commands.fs3.RESULTS``) and returns a matplotlib
Figure (``views.plotting`` writes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fs3.reports import PlanReport
from . import plotting as style

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def pair_matrix(blocks: list[list[int]], nodes: int, per_cell: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Chains shared by each pair of node groups of ``per_cell`` nodes: (sum of the pairs' counts, number
    of distinct node pairs) per cell, so sum / pairs is the mean count of a pair there. Built from the chains
    directly, never as a nodes x nodes table (1,000 nodes bin to 250 x 250 cells)."""
    import numpy as np

    b = np.asarray(blocks, dtype=np.int64).reshape(len(blocks), -1)
    cells = -(-nodes // per_cell)
    total = np.zeros((cells, cells))
    k = b.shape[1]
    for i in range(k):
        for j in range(k):
            if i != j:
                np.add.at(total, (b[:, i] // per_cell, b[:, j] // per_cell), 1.0)
    sizes = np.minimum(per_cell, nodes - np.arange(cells) * per_cell)
    pairs = np.outer(sizes, sizes) - np.diag(sizes)  # ordered pairs of distinct nodes in each cell
    return total, pairs


def _matrix(ax: Axes, r: PlanReport) -> tuple[Any, str]:
    import numpy as np

    per_cell = style.bins(r.nodes)
    total, pairs = pair_matrix(r.blocks, r.nodes, per_cell)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(pairs > 0, total / np.maximum(pairs, 1), np.nan)
    lo, hi = r.pair_count_target
    image, _ = style.heatmap(
        ax, mean, row_unit="nodes", col_unit="nodes", vmin=max(0.0, lo - 1.0), vmax=hi + 1.0
    )
    image.set_extent((0, r.nodes, r.nodes, 0))
    image.set_cmap(image.cmap.with_extremes(bad="#eeeeee"))  # a node with itself
    note = style.aggregate_note(per_cell, per_cell, "nodes", "nodes", "mean")
    ax.set_xlabel(f"storage node (index, of {r.nodes})")
    ax.set_ylabel(f"storage node (index, of {r.nodes})")
    ax.set_title("chains each node pair shares", loc="left")
    ax.set_aspect("equal")
    return image, note


def _histogram(ax: Axes, r: PlanReport) -> None:
    counts = sorted((int(c), n) for c, n in r.pair_count_histogram.items())
    lo, hi = r.pair_count_target
    for c, n in counts:
        inside = lo <= c <= hi
        ax.bar(
            c,
            n,
            color=style.GOOD if inside else style.BAD,
            hatch="" if inside else "xx",
            edgecolor="white",
            width=0.8,
        )
    ax.axvspan(lo - 0.5, hi + 0.5, color=style.SKY_BLUE, alpha=0.25, label=f"target {lo}..{hi} (balanced)")
    ax.plot([], [], "s", color=style.BAD, label="outside the target")
    ax.set_xticks([c for c, _ in counts])
    ax.set_xlabel("chains shared by a node pair")
    ax.set_ylabel("node pairs")
    ax.set_title("pairs by chains shared", loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), fontsize=7, frameon=False)


def plot_chains(r: PlanReport) -> Figure:
    """The node-pair matrix of shared chains (one disk index; every index has the same), binned past
    ``plotting.MAX_CELLS`` nodes a side, beside how many pairs share each count against the balanced
    target (the 3FS deployment guide's: every pair within one of the mean)."""
    fig = style.figure(10.0, 5.4)
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1.0])
    image, note = _matrix(left, r)
    fig.colorbar(image, ax=left, label="chains shared (mean of the pairs in a cell)", shrink=0.85)
    _histogram(right, r)
    verdict = "balanced" if r.balanced else "NOT balanced"
    style.heading(
        fig,
        f"fs3 plan chains: {r.nodes} nodes, replication {r.replication}, {r.chains_per_disk} chains per disk "
        f"x {r.disks} disk{'s' if r.disks != 1 else ''}: {verdict}",
        note,
        r.note or "",
    )
    return fig


MAX_CLIENTS = 32
"""Client nodes drawn one bar each beside the aggregate; past this only the aggregate (the title says)."""

Row = tuple[str, float, "float | None", str, "str | None"]


def _figures(r: Any) -> list[Row]:
    """(label, measured, published scaled to the nodes used or None, unit, status) of a bench record: a
    suite's verdicts; one run's throughput beside its published figure; every client together beside each
    published figure scaled to the cluster, then each client alone; or the metadata phases."""
    summary = getattr(r, "summary", None)
    if summary is not None:
        return [(v.label, v.measured, v.published, v.unit, v.status) for v in summary]
    aggregate = getattr(r, "aggregate", None)
    if aggregate is not None:  # scope=clients: io or kvcache on every client node at once
        rows: list[Row] = [
            (
                f"{aggregate.clients} clients vs {c.published.unit}",
                aggregate.gib_s,
                c.published.scaled,
                "GiB/s",
                None,
            )
            for c in r.published
        ] or [(f"{aggregate.clients} clients together", aggregate.gib_s, None, "GiB/s", None)]
        if len(r.clients) <= MAX_CLIENTS:
            rows += [(c.node.host, c.result.gib_s, None, "GiB/s", None) for c in r.clients]
        return rows
    published = getattr(r, "published", None)
    if published is not None and hasattr(r, "gib_s"):
        what = getattr(r, "pattern", None) or ("KVCache reads" if hasattr(r, "block") else "sort")
        return [(f"{what} throughput", r.gib_s, published.scaled, "GiB/s", None)]
    phases = getattr(r, "phases", None) or []
    return [(p.name, p.ops_s, None, "ops/s", None) for p in phases]


def _num(v: float) -> str:
    """``448,123`` past a thousand (never 4.48e+05), else three significant digits."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _where(r: Any) -> str:
    clients = getattr(r, "clients", None)
    if isinstance(clients, list):
        shown = "" if len(clients) <= MAX_CLIENTS else f" (the aggregate; {len(clients)} clients not drawn)"
        return f"{len(clients)} client nodes{shown}"
    return getattr(r, "host", None) or "this host"


def plot_bench(r: Any) -> Figure:
    """Each measured figure as a share of the published figure scaled to the nodes used (100%: DeepSeek's
    rate per node times ours); figures 3FS publishes nothing for are drawn in their own unit beside."""
    rows = _figures(r)
    compared = [x for x in rows if x[2]]
    alone = [x for x in rows if not x[2]]
    panels = int(bool(compared)) + int(bool(alone))
    fig = style.figure(5.0 * max(panels, 1) + 1.0, 1.8 + 0.4 * max(len(compared), len(alone), 1))
    axes = list(fig.subplots(1, max(panels, 1), squeeze=False)[0])
    if compared:
        ax = axes.pop(0)
        for i, (_, measured, published, unit, status) in enumerate(compared):
            share = 100.0 * measured / (published or 1.0)
            bad = status == "fail"
            ax.barh(i, share, color=style.BAD if bad else style.BLUE, hatch="xx" if bad else "", height=0.6)
            ax.annotate(
                f"{_num(measured)} of {_num(published or 0.0)} {unit}" + (f" ({status})" if status else ""),
                (share, i),
                xytext=(4, -3),
                textcoords="offset points",
                fontsize=7,
            )
        source = _source(r)
        style.reference(ax, 100.0, "published, scaled to the nodes used", source, axis="x")
        ax.set_yticks(range(len(compared)), [x[0] for x in compared])
        ax.set_ylim(len(compared) - 0.5, -0.5)
        ax.margins(x=0.35)
        ax.set_xlabel("measured / published (%)")
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, borderaxespad=0)
    if alone:
        ax = axes.pop(0)
        units = {x[3] for x in alone}
        one = units.pop() if len(units) == 1 else None
        # NOTE: rows in several units are each drawn as a share of the largest in their unit: GiB/s and
        # ops/s on one linear axis left the GiB/s bars invisible
        top = {u: max(x[1] for x in alone if x[3] == u) or 1.0 for u in {x[3] for x in alone}}
        for i, (_, measured, _, unit, _) in enumerate(alone):
            length = measured if one else 100.0 * measured / top[unit]
            ax.barh(i, length, color=style.ORANGE, height=0.6)
            ax.annotate(
                f"{_num(measured)} {unit}",
                (length, i),
                xytext=(4, -3),
                textcoords="offset points",
                fontsize=7,
            )
        ax.set_yticks(range(len(alone)), [x[0] if one else f"{x[0]} ({x[3]})" for x in alone])
        ax.set_ylim(len(alone) - 0.5, -0.5)
        ax.margins(x=0.3)
        ax.set_xlabel(f"measured ({one})" if one else "measured, as % of the largest in its unit")
        ax.set_title("no published figure", loc="left")
    what = f"fs3 bench on {_where(r)}: measured beside DeepSeek's published figures"
    style.heading(fig, what, f"under {r.path}")
    return fig


def _source(r: Any) -> str:
    """Where the published figures come from (the record says; 3FS's README by default)."""
    published = getattr(r, "published", None)
    first = published[0].published if isinstance(published, list) and published else published
    source = getattr(first, "source", None) or "github.com/deepseek-ai/3FS#performance"
    return source.removeprefix("https://")


PLOTS = {
    "plan chains": plot_chains,
    "bench io": plot_bench,
    "bench meta": plot_bench,
    "bench all": plot_bench,
    "bench kvcache": plot_bench,
    "bench sort": plot_bench,
}
"""Command (as ``RESULTS`` names it) -> its picture."""
