"""How a plan balances a load (max/mean per layer, per node, overall) and what moving between two plans
costs (expert copies per GPU and node, and bytes)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .solver import Plan, as_loads, imbalance


def gpu_loads(plan: Plan, loads: np.ndarray) -> np.ndarray:
    """Tokens per GPU [L, G]: each replica takes an equal share of its expert's load."""
    w = loads.astype(np.float64)
    rows = np.arange(plan.layers)[:, None]
    share = w[rows, plan.phy2log] / plan.logcnt[rows, plan.phy2log]
    return share.reshape(plan.layers, plan.gpus, -1).sum(axis=2)


def _ratio(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=1)
    return np.where(mean > 0, x.max(axis=1) / np.where(mean > 0, mean, 1), 1.0)


def evaluate(plan: Plan, loads, *, file: str | None = None) -> dict:
    """Max/mean GPU load per layer and node load max/mean per layer; ``overall`` is the mean over layers."""
    w = as_loads(loads, file=file)
    try:
        per_layer = imbalance(w, plan.phy2log, plan.gpus)  # the core checks that plan and load match
    except InputError as e:
        raise InputError(e.message, file=file, field=e.field) from None
    g = gpu_loads(plan, w)
    node = _ratio(g.reshape(plan.layers, plan.nodes, -1).sum(axis=2))
    return {
        "layers": plan.layers,
        "experts": plan.experts,
        "replicas": plan.replicas,
        "gpus": plan.gpus,
        "nodes": plan.nodes,
        "overall": float(per_layer.mean()),
        "worst_layer": int(per_layer.argmax()),
        "worst": float(per_layer.max()),
        "node_overall": float(node.mean()),
        "per_layer": [float(x) for x in per_layer],
        "per_node": [float(x) for x in node],
    }


def copies(old: Plan, new: Plan) -> np.ndarray:
    """Expert copies each GPU must fetch, summed over layers [G]: (GPU, expert) pairs new in ``new``."""
    if old.phy2log.shape != new.phy2log.shape:
        raise InputError(
            f"plans have shapes {list(old.phy2log.shape)} and {list(new.phy2log.shape)}",
            field="physical_to_logical_map",
        )
    if old.gpus != new.gpus:
        raise InputError(f"plans have {old.gpus} and {new.gpus} GPUs", field="meta.gpus")
    L, R = new.phy2log.shape
    per = R // new.gpus
    E = max(old.experts, new.experts, int(max(old.phy2log.max(), new.phy2log.max())) + 1)
    gpu = np.repeat(np.arange(new.gpus), per)
    held = np.zeros((L, new.gpus, E), dtype=bool)
    held[np.arange(L)[:, None], gpu[None, :], old.phy2log] = True
    want = np.zeros_like(held)
    want[np.arange(L)[:, None], gpu[None, :], new.phy2log] = True
    return (want & ~held).sum(axis=(0, 2))


def diff(old: Plan, new: Plan, *, expert_bytes: int) -> dict:
    """Copies and bytes per GPU and per node to go from ``old`` to ``new``."""
    per_gpu = copies(old, new)
    nodes = new.nodes
    per_node = per_gpu.reshape(nodes, -1).sum(axis=1)
    total = int(per_gpu.sum())
    slots = new.layers * new.replicas
    return {
        "copies": total,
        "bytes": total * expert_bytes,
        "expert_bytes": expert_bytes,
        "fraction": total / slots if slots else 0.0,
        "slots": slots,
        "per_gpu": [int(x) for x in per_gpu],
        "per_node": [int(x) for x in per_node],
        "bytes_per_node": [int(x) * expert_bytes for x in per_node],
    }
