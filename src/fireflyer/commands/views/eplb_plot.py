"""``flyer eplb`` pictures (``--plot``): a layers x GPUs heatmap of each GPU's load over its layer's mean,
beside the per-layer max/mean; the plan before and after side by side where a command has two (``plan
--previous``, ``rebalance``). Each function takes the command's record (``commands.eplb.RESULTS``) and
returns a matplotlib Figure (``views.plotting`` writes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...eplb import Evaluation, PlanResult, RebalanceResult
from . import plotting as style

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

Matrix = list[list[float] | None]
MAX_NODE_LINES = 16
"""Node boundaries are drawn on the heatmap up to this many nodes (past it they would hide the cells)."""


def _array(rows: Matrix, gpus: int) -> np.ndarray:
    """The record's rows as a float array, a layer without load a row of NaN (drawn blank)."""
    import numpy as np

    out = np.full((len(rows), max(gpus, 1)), np.nan)
    for i, r in enumerate(rows):
        if r is not None:
            out[i, : len(r)] = r
    return out


def _straggler(m: np.ndarray) -> tuple[int, int] | None:
    """(layer row, GPU) of the most loaded GPU over its layer's mean, or None with no load."""
    import numpy as np

    if m.size == 0 or np.isnan(m).all():
        return None
    row, gpu = np.unravel_index(np.nanargmax(m), m.shape)
    return int(row), int(gpu)


def _heatmap(
    ax: Axes, m: np.ndarray, name: str, spread: float, nodes: int | None, layer_ids: list[int] | None
) -> tuple[AxesImage, str]:
    import numpy as np
    from matplotlib.colors import LogNorm

    # NOTE: a log scale symmetric about 1: half the mean is as dark as twice it is light, and a plan 40x off
    # leaves the balanced one readable beside it; an idle GPU (0) is drawn as the scale's floor
    shown = np.where(np.isnan(m), np.nan, np.maximum(m, 1.0 / spread))
    image, note = style.heatmap(
        ax, shown, row_unit="layers", col_unit="GPUs", norm=LogNorm(vmin=1.0 / spread, vmax=spread)
    )
    image.set_cmap(image.cmap.with_extremes(bad="#eeeeee"))  # a layer without load
    gpus = m.shape[1]
    if nodes and 1 < nodes <= MAX_NODE_LINES and gpus % nodes == 0:
        for k in range(1, nodes):
            ax.axvline(k * gpus // nodes, color="white", linewidth=0.6)
    worst = _straggler(m)
    if worst is not None:
        row, gpu = worst
        ax.plot(
            [gpu + 0.5],
            [row + 0.5],
            marker="s",
            markersize=11,
            markerfacecolor="none",
            markeredgecolor=style.VERMILLION,
            markeredgewidth=2.0,
            linestyle="none",
            clip_on=False,  # a straggler in the first or last row stays whole
            label=f"straggler: GPU {gpu}, {_layer(row, layer_ids)}, {m[row, gpu]:.3f} x mean",
        )
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, borderaxespad=0)
    ax.set_xlabel(f"GPU (of {gpus}{f', {nodes} nodes' if nodes else ''})")
    _layer_ticks(ax, layer_ids, m.shape[0])
    ax.set_title(name, loc="left", pad=16)
    return image, note


def _layer(row: int, layer_ids: list[int] | None) -> str:
    return f"layer {layer_ids[row]}" if layer_ids else f"row {row}"


def _layer_ticks(ax: Axes, layer_ids: list[int] | None, n: int) -> None:
    """About ten layer ticks at a round step (1, 2, 5, 10, 20, 50...)."""
    step = next(b * 10**e for e in range(8) for b in (1, 2, 5) if n / (b * 10**e) <= 12)
    pos = list(range(0, n, step))
    ax.set_yticks([p + 0.5 for p in pos], [str(layer_ids[p] if layer_ids else p) for p in pos])


def _per_layer(ax: Axes, plans: list[tuple[str, np.ndarray]], spread: float) -> None:
    """Max/mean per layer (a row's max), a line per plan, layers down as in the heatmaps; binned as they
    are (the max of each bin), so a row here is a row there."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    for i, (name, m) in enumerate(plans):
        s = style.series(i)
        worst = np.full(m.shape[0], np.nan)
        loaded = ~np.isnan(m).all(axis=1)
        worst[loaded] = np.nanmax(m[loaded], axis=1)
        k = style.bins(m.shape[0])
        binned = style.aggregate(worst[:, None], k, 1)[:, 0] if loaded.any() else worst[::k]
        y = np.minimum(np.arange(len(binned)) * k + k / 2, m.shape[0])
        many = len(binned) > 80
        ax.plot(
            binned,
            y,
            color=s["color"],
            linestyle=s["linestyle"],
            marker=None if many else s["marker"],
            markersize=3,
            linewidth=1.0 if many else 1.4,
            label=f"{name}: mean {np.nanmean(worst):.3f}",
        )
    style.reference(ax, 1.0, "max = mean", "perfect balance", axis="x", color="#777777", linestyle=":")
    if spread > 4:  # NOTE: 1.02 and 40 on one linear axis would put the good plan on the line at 1
        ax.set_xscale("log")
        ax.set_xlabel("max / mean GPU load, per layer (log scale)")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_xlabel("max / mean GPU load, per layer")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, borderaxespad=0)
    ax.tick_params(labelleft=False)


def _figure(
    what: str,
    plans: list[tuple[str, Matrix]],
    gpus: int,
    nodes: int | None,
    layer_ids: list[int] | None,
) -> Figure:
    import numpy as np

    arrays = [(name, _array(rows, gpus)) for name, rows in plans]
    finite = [m[(m > 0) & ~np.isnan(m)] for _, m in arrays]
    # NOTE: one scale for every panel, centred on 1 (balanced): below the mean dark, above it light; as far
    # below as above (x or / by ``spread``), at least 1%
    spread = max([float(np.maximum(f, 1.0 / f).max()) for f in finite if f.size] + [1.01])
    n = len(arrays)
    layers = arrays[0][1].shape[0] if arrays else 0
    fig = style.figure(4.2 * n + 2.6, min(3.2 + 0.06 * min(layers, 256), 8.0))
    axes = fig.subplots(1, n + 1, sharey=True, width_ratios=[3.0] * n + [1.4])
    note = ""
    image: AxesImage | None = None
    for ax, (name, m) in zip(axes, arrays):
        image, note = _heatmap(ax, m, name, spread, nodes, layer_ids)
    axes[0].set_ylabel("MoE layer (decoder-layer id)" if layer_ids else "MoE layer (row of the plan)")
    _per_layer(axes[-1], arrays, spread)
    if image is not None:
        bar = fig.colorbar(
            image,
            ax=list(axes[:n]),
            location="bottom",
            label="GPU load / its layer's mean GPU load (1 = balanced; log scale)",
            shrink=0.6,
            aspect=40,
        )
        marks = [spread**-1, spread**-0.5, 1.0, spread**0.5, spread]
        bar.set_ticks(marks, labels=[f"{v:.3g}" if spread > 1.1 else f"{v:.3f}" for v in marks])
        bar.ax.minorticks_off()
    style.heading(fig, what, note)
    return fig


def plot_plan(r: PlanResult) -> Figure:
    """The plan's GPU loads on the loads it was made for; with --previous, the previous plan's beside it."""
    plans = [("previous plan", r.gpu_load_before)] if r.gpu_load_before is not None else []
    plans.append(("this plan" if plans else f"{r.policy} plan", r.gpu_load))
    return _figure(
        f"eplb plan ({r.policy}): each GPU's load over its layer's mean, {r.layers} MoE layers x "
        f"{r.gpus} GPUs",
        plans,
        r.gpus,
        r.nodes,
        r.layer_ids,
    )


def plot_evaluate(r: Evaluation) -> Figure:
    """The plan's GPU loads on the load evaluated."""
    return _figure(
        f"eplb evaluate: each GPU's load over its layer's mean, {r.layers} MoE layers x {r.gpus} GPUs "
        f"(overall max/mean {r.overall:.3f})",
        [("the plan on this load", r.gpu_load)],
        r.gpus,
        r.nodes,
        r.layer_ids,
    )


def plot_rebalance(r: RebalanceResult) -> Figure:
    """The plan in place and the new plan on the new loads, side by side."""
    gpus = max((len(x) for x in r.gpu_load_before + r.gpu_load if x is not None), default=1)
    verdict = "replaced" if r.replaced else f"kept ({r.reason})"
    return _figure(
        f"eplb rebalance: max/mean {r.before:.3f} -> {r.after:.3f} for {r.copies} expert copies; {verdict}",
        [("plan in place", r.gpu_load_before), ("new plan", r.gpu_load)],
        gpus,
        None,
        None,
    )


PLOTS = {"plan": plot_plan, "evaluate": plot_evaluate, "rebalance": plot_rebalance}
"""Command (as ``RESULTS`` names it) -> its picture."""
