"""From measured loads to a plan: the work ``flyer eplb plan`` and ``flyer eplb rebalance`` share (the
layout, the decoder layers of the load's rows, the rows lined up with a previous plan's layers)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import about_file
from .io import Loads
from .layouts import Layout, layer_ids, layout
from .metrics import align_loads
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
    replicas: int | None = None,
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
        replicas = previous.replicas if replicas is None else replicas
        gpus, nodes = previous.gpus, previous.nodes
        groups = groups if groups is not None else previous.meta.get("groups")
    lay = layout(
        experts, model=model, deployment=deployment, replicas=replicas, groups=groups, nodes=nodes, gpus=gpus
    )
    with about_file(file, "weight", "layer_ids"):
        ids = layer_ids(rows, given=loads.layer_ids, model=lay.model, first_moe_layer=first_moe_layer)
        w, moe_ids = ids.moe(loads.counts)
        given = loads.layer_ids
        decoder_layers = ids.decoder_layers or (int(given.max()) + 1 if given is not None else None)
        if previous is not None:
            w = align_loads(previous, w, moe_ids)
            moe_ids, decoder_layers = previous.layer_ids, previous.decoder_layers or ids.decoder_layers
        p = plan(
            w,
            lay.replicas,
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
