"""How `flyer eplb` results look on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._output import Output

if TYPE_CHECKING:
    from ...eplb import Diff, Evaluation, PlanResult, RebalanceResult, SampleResult


def _span(ids: list[int]) -> str:
    if not ids:
        return "none"
    return f"{ids[0]}..{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1)) else ", ".join(map(str, ids))


def plan(o: Output, r: PlanResult) -> None:
    rows = {
        "policy": r.policy,
        "load": r.load,
        "layout": f"{r.layers} layers x {r.experts} experts -> {r.slots} slots on {r.gpus} GPUs / "
        f"{r.nodes} nodes ({r.groups} groups)",
        "decoder layers": f"{_span(r.layer_ids)} ({r.layer_ids_from})",
        "max/mean": f"{r.imbalance.mean:.4f} mean over loaded layers, {r.imbalance.worst:.4f} worst layer",
    }
    if r.copies is not None:
        rows["moves"] = f"{r.copies} expert copies, {(r.bytes or 0) / 2**30:.2f} GiB"
    rows["written"] = f"{r.written} ({r.format})" if r.written else "- (use --out)"
    o.kv(rows)
    if r.next_step:
        o.hint(r.next_step)


def evaluate(o: Output, r: Evaluation) -> None:
    o.kv(
        {
            "overall max/mean": f"{r.overall:.4f} (mean over the {r.loaded_layers} layers with load)",
            "worst layer": f"{r.worst:.4f} (decoder layer {r.worst_layer})",
            "node max/mean": f"{r.node_overall:.4f} ({r.nodes} nodes)",
        }
    )
    rows = [(layer, g, n) for layer, g, n in zip(r.layer_ids, r.per_layer, r.per_node) if g is not None]
    empty = [layer for layer, g in zip(r.layer_ids, r.per_layer) if g is None]
    o.table(
        ["layer", "GPU max/mean", "node max/mean"],
        rows,
        title="Per layer",
        caption=f"no load in layers {_span(empty)} (left out)" if empty else None,
    )


def diff(o: Output, d: Diff) -> None:
    eb = d.expert_bytes
    o.kv(
        {
            "copies": f"{d.copies} of {d.layers_x_slots} slots ({d.fraction * 100:.1f}%)",
            "bytes": f"{d.bytes / 2**30:.2f} GiB ({eb} bytes per expert, {d.expert_bytes_from})",
        }
    )
    o.table(
        ["node", "copies", "GiB"],
        [(i, c, c * eb / 2**30) for i, c in enumerate(d.per_node)],
        title="Per node",
    )


def rebalance(o: Output, r: RebalanceResult) -> None:
    """One line per event (journald keeps each as one entry): what was collected, then what was done."""
    if r.collected is not None:
        o.line(r.collected.message)
    o.line(r.message + (f"; next: {r.next_step}" if r.next_step else ""))


def sample(o: Output, r: SampleResult) -> None:
    o.line(f"wrote {', '.join(r.written)}: {r.what}")
