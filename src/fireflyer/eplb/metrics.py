"""How a plan balances a load (max/mean per layer, per node, overall) and what moving between two plans
costs (expert copies per GPU and node, and bytes). Plans and loads meet by decoder-layer id."""

from __future__ import annotations

import msgspec
import numpy as np

from ..errors import InputError
from ..gates import Check
from .solver import Plan, as_loads, imbalance


class Evaluation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How a plan balances a load (``flyer eplb evaluate --json``): max/mean GPU load per layer and per node,
    ``overall`` the mean over the ``loaded_layers`` that carry load (others listed as None)."""

    layers: int
    loaded_layers: int
    experts: int
    slots: int
    gpus: int
    nodes: int
    overall: float
    worst_layer: int
    """The decoder layer with the worst max/mean."""
    worst: float
    node_overall: float
    layer_ids: list[int]
    per_layer: list[float | None]
    per_node: list[float | None]
    max_imbalance: float | None = None
    """The threshold asked for (``--max-imbalance``), if any."""
    ok: bool = True
    """``overall`` is at most ``max_imbalance``."""
    gpu_load: list[list[float] | None] = []
    """Each GPU's load over its layer's mean GPU load, a row per layer (``layer_ids``), 4 decimals; None for
    a layer without load. A row's max is that layer's ``per_layer``."""

    def checks(self) -> list[Check]:
        """The ``--max-imbalance`` gate as a JUnit testcase: overall max/mean against the threshold; a
        failure names the worst layers (the gate is the overall figure, so layers are not testcases)."""
        ranked = sorted((v, layer) for v, layer in zip(self.per_layer, self.layer_ids) if v is not None)
        worst = ", ".join(f"layer {layer} {v:.4f}" for v, layer in reversed(ranked[-3:]))
        return [
            Check(
                name="overall max/mean",
                classname="eplb.evaluate",
                passed=self.ok,
                figure=self.overall,
                limit=self.max_imbalance,
                message="" if self.ok else f"above --max-imbalance; worst layers: {worst}",
            )
        ]


class Diff(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What moving from one plan to another costs (``flyer eplb diff --json``): expert copies each GPU and
    node must fetch, and the bytes."""

    copies: int
    bytes: int
    expert_bytes: int
    fraction: float
    """Copies over ``layers_x_slots``."""
    layers_x_slots: int
    """Slots in all layers: the copies there could be."""
    per_gpu: list[int]
    per_node: list[int]
    bytes_per_node: list[int]
    expert_bytes_from: str
    """Where ``expert_bytes`` came from: ``--expert-bytes``, or the model profile's FP8 size."""


def gpu_loads(plan: Plan, loads: np.ndarray) -> np.ndarray:
    """Tokens per GPU [L, G]: each replica takes an equal share of its expert's load."""
    w = loads.astype(np.float64)
    rows = np.arange(plan.layers)[:, None]
    share = w[rows, plan.phy2log] / plan.logcnt[rows, plan.phy2log]
    return share.reshape(plan.layers, plan.gpus, -1).sum(axis=2)


def load_over_mean(plan: Plan, loads: np.ndarray) -> list[list[float] | None]:
    """Each GPU's load over its layer's mean GPU load [L][G], rounded to 4 decimals (1 = balanced); None
    for a layer without load."""
    g = gpu_loads(plan, loads)
    mean = g.mean(axis=1, keepdims=True)
    ratio = np.round(g / np.where(mean > 0, mean, 1.0), 4)
    return [row if m > 0 else None for row, m in zip(ratio.tolist(), mean[:, 0].tolist())]


def _ratio(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=1)
    return np.where(mean > 0, x.max(axis=1) / np.where(mean > 0, mean, 1), 1.0)


def _span(ids) -> str:
    ids = sorted(int(x) for x in ids)
    if not ids:
        return "none"
    return f"{ids[0]}..{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1)) else ", ".join(map(str, ids[:6]))


def align_loads(plan: Plan, loads, layer_ids=None, *, file: str | None = None) -> np.ndarray:
    """The load rows of the plan's layers, in the plan's row order: rows meet by decoder-layer id
    (``layer_ids`` of the load; default 0..). A plan layer without a load row is an error; so is a load row
    with tokens for a layer the plan lacks (empty rows, the dense layers of an SGLang dump, are left out)."""
    w = as_loads(loads, file=file)
    ids = np.arange(w.shape[0]) if layer_ids is None else np.asarray(layer_ids, dtype=np.int64)
    where = {int(x): i for i, x in enumerate(ids)}
    missing = [int(x) for x in plan.layer_ids if int(x) not in where]  # type: ignore[union-attr]
    if missing:
        raise InputError(
            f"the load has no row for decoder layer {_span(missing)} of the plan (plan layers "
            f"{_span(plan.layer_ids)}, load layers {_span(ids)})",
            file=file,
            field="layer_ids",
            hint="--model or --first-moe-layer says which decoder layers a load's rows are",
        )
    planned = {int(x) for x in plan.layer_ids}  # type: ignore[union-attr]
    extra = [int(x) for i, x in enumerate(ids) if int(x) not in planned and w[i].sum() > 0]
    if extra:
        raise InputError(
            f"the load has tokens for decoder layer {_span(extra)}, which the plan (layers "
            f"{_span(planned)}) does not place",
            file=file,
            field="layer_ids",
            hint="--model or --first-moe-layer says which decoder layers a load's rows are",
        )
    return w[[where[int(x)] for x in plan.layer_ids]]  # type: ignore[union-attr]


def evaluate(
    plan: Plan, loads, *, layer_ids=None, file: str | None = None, max_imbalance: float | None = None
) -> Evaluation:
    """Max/mean GPU load and node max/mean per layer; ``overall`` is the mean over the layers that carry load
    (empty rows, such as dense layers, are listed as None and left out); ``ok`` when it is at most
    ``max_imbalance``."""
    w = align_loads(plan, loads, layer_ids, file=file)
    try:
        per_layer = imbalance(w, plan.phy2log, plan.gpus)  # the core checks that plan and load match
    except InputError as e:
        raise InputError(e.message, file=file, field=e.field) from None
    g = gpu_loads(plan, w)
    node = _ratio(g.reshape(plan.layers, plan.nodes, -1).sum(axis=2))
    loaded = w.sum(axis=1) > 0
    if not loaded.any():
        raise InputError("the load has no tokens in any layer the plan places", file=file, field="weight")
    ids = plan.layer_ids
    worst = int(np.flatnonzero(loaded)[per_layer[loaded].argmax()])
    overall = float(per_layer[loaded].mean())
    return Evaluation(
        layers=plan.layers,
        loaded_layers=int(loaded.sum()),
        experts=plan.experts,
        slots=plan.slots,
        gpus=plan.gpus,
        nodes=plan.nodes,
        overall=overall,
        worst_layer=int(ids[worst]),  # type: ignore[index]
        worst=float(per_layer[worst]),
        node_overall=float(node[loaded].mean()),
        layer_ids=[int(x) for x in ids],  # type: ignore[union-attr]
        per_layer=[float(x) if ok else None for x, ok in zip(per_layer, loaded)],
        per_node=[float(x) if ok else None for x, ok in zip(node, loaded)],
        max_imbalance=max_imbalance,
        ok=max_imbalance is None or overall <= max_imbalance,
        gpu_load=load_over_mean(plan, w),
    )


def copies(old: Plan, new: Plan) -> np.ndarray:
    """Expert copies each GPU must fetch, summed over layers [G]: (GPU, expert) pairs new in ``new``; the
    plans' rows meet by decoder-layer id."""
    if sorted(old.layer_ids.tolist()) != sorted(new.layer_ids.tolist()):  # type: ignore[union-attr]
        raise InputError(
            f"the plans place different layers ({_span(old.layer_ids)} and {_span(new.layer_ids)})",
            field="layer_ids",
        )
    if old.slots != new.slots:
        raise InputError(f"plans have {old.slots} and {new.slots} slots per layer", field="slots")
    if old.gpus != new.gpus:
        raise InputError(f"plans have {old.gpus} and {new.gpus} GPUs", field="gpus")
    order = {int(x): i for i, x in enumerate(old.layer_ids)}  # type: ignore[arg-type]
    before = old.phy2log[[order[int(x)] for x in new.layer_ids]]  # type: ignore[union-attr]
    R = new.slots
    # NOTE: (GPU, expert) pairs as one int64 per slot, a layer at a time: memory in slots, not GPUs x experts.
    gpu = np.repeat(np.arange(new.gpus, dtype=np.int64), R // new.gpus) * R
    out = np.zeros(new.gpus, dtype=np.int64)
    for was, now in zip(before, new.phy2log):
        pairs = np.unique(gpu + now)
        fresh = pairs[~np.isin(pairs, gpu + was)]
        np.add.at(out, fresh // R, 1)
    return out


def diff(old: Plan, new: Plan, *, expert_bytes: int, expert_bytes_from: str = "given") -> Diff:
    """Copies and bytes per GPU and per node to go from ``old`` to ``new`` (``expert_bytes`` per copy, which
    ``expert_bytes_from`` says where it came from)."""
    per_gpu = copies(old, new)
    nodes = new.nodes
    per_node = per_gpu.reshape(nodes, -1).sum(axis=1)
    total = int(per_gpu.sum())
    slots = new.layers * new.slots
    return Diff(
        copies=total,
        bytes=total * expert_bytes,
        expert_bytes=expert_bytes,
        fraction=total / slots if slots else 0.0,
        layers_x_slots=slots,
        per_gpu=[int(x) for x in per_gpu],
        per_node=[int(x) for x in per_node],
        bytes_per_node=[int(x) * expert_bytes for x in per_node],
        expert_bytes_from=expert_bytes_from,
    )
