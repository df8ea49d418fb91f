"""How `flyer eplb` results look on a terminal."""

from __future__ import annotations

from typing import Any

from .._output import Output


def plan(o: Output, p: Any, data: dict) -> None:
    rows = {
        "policy": data["policy"],
        "layout": f"{p.layers} layers x {p.experts} experts -> {p.replicas} slots on {p.gpus} GPUs / "
        f"{p.nodes} nodes ({p.groups} groups)",
        "max/mean": f"{data['imbalance']['mean']:.4f} mean over layers, {data['imbalance']['worst']:.4f} "
        "worst layer",
    }
    if "copies" in data:
        rows["moves"] = f"{data['copies']} expert copies, {data['bytes'] / 2**30:.2f} GiB"
    rows["written"] = data["written"] or "- (use --out)"
    o.kv(rows)


def evaluate(o: Output, r: dict) -> None:
    o.kv(
        {
            "overall max/mean": f"{r['overall']:.4f} (mean over {r['layers']} layers)",
            "worst layer": f"{r['worst']:.4f} (layer {r['worst_layer']})",
            "node max/mean": f"{r['node_overall']:.4f} ({r['nodes']} nodes)",
        }
    )
    worst = sorted(range(r["layers"]), key=lambda i: -r["per_layer"][i])[:5]
    o.table(
        ["layer", "GPU max/mean", "node max/mean"],
        [(i, r["per_layer"][i], r["per_node"][i]) for i in worst],
        title="Worst layers",
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
