"""From measured loads to a plan: the work ``flyer eplb plan`` and ``flyer eplb rebalance`` share (the
layout, the decoder layers of the load's rows, the rows lined up with a previous plan's layers), and
``plan_file``, ``flyer eplb plan`` from files to its record."""

from __future__ import annotations

import os
from dataclasses import dataclass

import msgspec
import numpy as np

from ..errors import InputError, about_file
from ..io import check_outputs
from . import layouts
from .formats import Loads, engine_step, load_paths, plan_format, read_loads, read_plan, write_plan
from .layouts import Layout, layer_ids, layout
from .metrics import align_loads, diff, load_over_mean
from .samples import SAMPLE_MODEL, sample_load
from .solver import Plan, plan


@dataclass(frozen=True)
class Planned:
    plan: Plan
    loads: np.ndarray
    """The loads planned for: a row per MoE layer of the plan (lined up with a previous plan's layers)."""
    layout: Layout
    layer_ids_from: str
    """Where the plan's decoder-layer ids came from: the load's own, the model, row order or the previous
    plan."""


def plan_loads(
    loads: Loads,
    *,
    file: str | os.PathLike | None = None,
    model: str | None = None,
    deployment: str | None = None,
    slots: int | None = None,
    groups: int | None = None,
    nodes: int | None = None,
    gpus: int | None = None,
    first_moe_layer: int | None = None,
    policy: str = "balanced",
    hierarchical: bool | None = None,
    previous: Plan | None = None,
    tolerance: float = 0.01,
    max_copies: int | None = None,
) -> Planned:
    """Plan ``loads`` (read from ``file``, which errors name) on the layout given, else the deployment's and
    the model's (``layouts.layout``). With ``previous`` the plan keeps its GPUs, nodes, slots, groups and
    decoder layers and moves as few expert copies as it can (``solver.plan``); ``max_copies`` caps them."""
    rows, experts = loads.counts.shape
    if previous is not None:
        slots = previous.slots if slots is None else slots
        gpus, nodes = previous.gpus, previous.nodes
        groups = groups if groups is not None else previous.meta.get("groups")
    lay = layout(
        experts, model=model, deployment=deployment, slots=slots, groups=groups, nodes=nodes, gpus=gpus
    )
    with about_file(file, "weight", "layer_ids"):
        ids = layer_ids(rows, given=loads.layer_ids, model=lay.model, first_moe_layer=first_moe_layer)
        moe_ids: np.ndarray | None
        w, moe_ids = ids.moe(loads.counts)
        given = loads.layer_ids
        decoder_layers = ids.decoder_layers or (int(given.max()) + 1 if given is not None else None)
        if previous is not None:
            w = align_loads(previous, w, moe_ids)
            moe_ids, decoder_layers = previous.layer_ids, previous.decoder_layers or ids.decoder_layers
        p = plan(
            w,
            lay.slots,
            lay.groups,
            lay.nodes,
            lay.gpus,
            policy=policy,
            hierarchical=hierarchical,
            previous=previous,
            tolerance=tolerance,
            max_copies=max_copies,
            layer_ids=moe_ids,
            decoder_layers=decoder_layers,
        )
    return Planned(p, w, lay, "the previous plan" if previous is not None else ids.source)


class Imbalance(msgspec.Struct, forbid_unknown_fields=True):
    """Max/mean GPU load over the layers that carry load: their mean and the worst layer's."""

    mean: float
    worst: float


class PlanResult(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """What ``flyer eplb plan`` made (``--json``): the plan's ``meta`` as the native file holds it, where the
    input, layout and layer ids came from, the file written and the engine's next step; with a previous plan,
    the copies and bytes the move costs."""

    policy: str
    hierarchical: bool
    slots: int
    groups: int
    nodes: int
    gpus: int
    layers: int
    experts: int
    layer_ids: list[int]
    decoder_layers: int | None
    imbalance: Imbalance
    input_digest: str
    version: str
    pack_sums: str | None = None
    """Only where not eplb.py's float32 sums."""
    tolerance: float | None = None
    """Only with a previous plan."""
    copies: int | None = None
    """With a previous plan: expert copies the move costs."""
    bytes: int | None = None
    expert_bytes_from: str | None = None
    load: str
    """Where the load came from (a format, or the shipped sample)."""
    layout_from: dict[str, str]
    """Where each of nodes, gpus, groups and slots came from."""
    layer_ids_from: str
    format: str
    written: str | None
    next_step: str | None
    """How the engine takes the file written (None for the native format)."""
    gpu_load: list[list[float] | None] = []
    """Each GPU's load over its layer's mean, a row per layer (``metrics.load_over_mean``), on the loads
    planned for."""
    gpu_load_before: list[list[float] | None] | None = None
    """With a previous plan: the same for the previous plan on these loads."""


def plan_file(
    load: str | os.PathLike | None,
    *,
    out: str | os.PathLike | None = None,
    fmt: str | None = None,
    previous: str | os.PathLike | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
    expert_bytes: int | None = None,
    deployment: str | None = None,
    slots: int | None = None,
    groups: int | None = None,
    nodes: int | None = None,
    gpus: int | None = None,
    policy: str = "balanced",
    hierarchical: bool | None = None,
    tolerance: float = 0.01,
) -> PlanResult:
    """``flyer eplb plan``: plan the loads in ``load`` (None: the shipped sample, for ``SAMPLE_MODEL``
    unless ``model`` says otherwise) and write the plan to ``out`` in ``fmt`` (default from the suffix).
    With ``previous`` the plan starts from that plan and the result says what the move costs; the layout,
    policy and tolerance are ``plan_loads``'s. An engine format with decoder layers known only from row
    order is refused before writing."""
    fmt = plan_format(fmt, out)
    check_outputs([out], [*(load_paths(load) if load else []), previous])
    if load is None:
        model = model or SAMPLE_MODEL
        loads = Loads(sample_load().astype("float32"), None, "the shipped sample")
    else:
        loads = read_loads(load)
    prev = None
    if previous is not None:
        prev = read_plan(previous, gpus=gpus, nodes=nodes, model=model, first_moe_layer=first_moe_layer)
    made = plan_loads(
        loads,
        file=load,
        model=model,
        deployment=deployment,
        slots=slots,
        groups=groups,
        nodes=nodes,
        gpus=gpus,
        first_moe_layer=first_moe_layer,
        policy=policy,
        hierarchical=hierarchical,
        previous=prev,
        tolerance=tolerance,
    )
    p = made.plan
    moves: dict[str, object] = {"gpu_load": load_over_mean(p, made.loads)}
    if prev is not None:
        eb, src = layouts.expert_bytes(made.layout.model, expert_bytes)
        d = diff(prev, p, expert_bytes=eb)
        moves |= {"copies": d.copies, "bytes": d.bytes, "expert_bytes_from": src}
        moves["gpu_load_before"] = load_over_mean(prev, made.loads)
    if made.layer_ids_from.startswith("row order") and fmt != "native":
        raise InputError(
            f"a {fmt} plan is indexed by decoder layer, and neither the load nor a model says which decoder "
            f"layers its {p.layers} rows are",
            file=str(load) if load else None,
            field="layer_ids",
            hint="pass --model or --first-moe-layer, or a load that carries layer ids",
        )
    step = None
    if out is not None:
        write_plan(p, out, fmt)
        step = engine_step(fmt, out, p)
    record = {
        **p.meta,
        **moves,
        "load": loads.source,
        "layout_from": made.layout.sources,
        "layer_ids_from": made.layer_ids_from,
        "format": fmt,
        "written": str(out) if out else None,
        "next_step": step,
    }
    return msgspec.convert(record, PlanResult)
