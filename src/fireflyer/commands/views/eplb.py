"""How `flyer eplb` results look on a terminal."""

from __future__ import annotations

from typing import Any

from .._output import Output


def _span(ids: list[int]) -> str:
    if not ids:
        return "none"
    return f"{ids[0]}..{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1)) else ", ".join(map(str, ids))


def plan(o: Output, p: Any, data: dict) -> None:
    rows = {
        "policy": data["policy"],
        "load": data["load"],
        "layout": f"{p.layers} layers x {p.experts} experts -> {p.replicas} slots on {p.gpus} GPUs / "
        f"{p.nodes} nodes ({p.groups} groups)",
        "decoder layers": f"{_span(data['layer_ids'])} ({data['layer_ids_from']})",
        "max/mean": f"{data['imbalance']['mean']:.4f} mean over loaded layers, "
        f"{data['imbalance']['worst']:.4f} worst layer",
    }
    if "copies" in data:
        rows["moves"] = f"{data['copies']} expert copies, {data['bytes'] / 2**30:.2f} GiB"
    rows["written"] = f"{data['written']} ({data['format']})" if data["written"] else "- (use --out)"
    o.kv(rows)
    if data["next_step"]:
        o.hint(data["next_step"])


def evaluate(o: Output, r: dict) -> None:
    o.kv(
        {
            "overall max/mean": f"{r['overall']:.4f} (mean over the {r['loaded_layers']} layers with load)",
            "worst layer": f"{r['worst']:.4f} (decoder layer {r['worst_layer']})",
            "node max/mean": f"{r['node_overall']:.4f} ({r['nodes']} nodes)",
        }
    )
    rows = [
        (layer, g, n) for layer, g, n in zip(r["layer_ids"], r["per_layer"], r["per_node"]) if g is not None
    ]
    empty = [layer for layer, g in zip(r["layer_ids"], r["per_layer"]) if g is None]
    o.table(
        ["layer", "GPU max/mean", "node max/mean"],
        rows,
        title="Per layer",
        caption=f"no load in layers {_span(empty)} (left out)" if empty else None,
    )


def diff(o: Output, d: dict) -> None:
    eb = d["expert_bytes"]
    o.kv(
        {
            "copies": f"{d['copies']} of {d['slots']} slots ({d['fraction'] * 100:.1f}%)",
            "bytes": f"{d['bytes'] / 2**30:.2f} GiB ({eb} bytes per expert, {d['expert_bytes_from']})",
        }
    )
    o.table(
        ["node", "copies", "GiB"],
        [(i, c, c * eb / 2**30) for i, c in enumerate(d["per_node"])],
        title="Per node",
    )


def rebalance(o: Output, r: Any) -> None:
    o.line(r.line())
    if r.next_step:
        o.line(f"next: {r.next_step}")


def sample(o: Output, data: dict) -> None:
    o.line(f"wrote {', '.join(data['written'])}: {data['what']}")
