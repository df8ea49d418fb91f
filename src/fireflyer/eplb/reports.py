"""``flyer eplb evaluate`` and ``flyer eplb diff`` from files: plans in any format and loads in any form in,
the typed record out (``metrics.Evaluation``, ``metrics.Diff``)."""

from __future__ import annotations

import functools
import os

from ..errors import about_file
from . import layouts
from .formats import read_loads, read_plan
from .layouts import layer_ids
from .metrics import Diff, Evaluation, diff, evaluate

PathLike = str | os.PathLike


def evaluate_files(
    plan: PathLike,
    load: PathLike,
    *,
    gpus: int | None = None,
    nodes: int | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
    max_imbalance: float | None = None,
) -> Evaluation:
    """The plan in ``plan`` on the loads in ``load``, their rows met by decoder layer (``model`` or
    ``first_moe_layer`` say which the load's rows are; ``gpus``/``nodes`` where the plan does not)."""
    p = read_plan(plan, gpus=gpus, nodes=nodes, model=model, first_moe_layer=first_moe_layer)
    loads = read_loads(load)
    with about_file(load, "weight", "layer_ids"):
        ids = layer_ids(
            loads.counts.shape[0], given=loads.layer_ids, model=model, first_moe_layer=first_moe_layer
        )
        counts, moe_ids = ids.moe(loads.counts)
        return evaluate(p, counts, layer_ids=moe_ids, file=str(load), max_imbalance=max_imbalance)


def diff_files(
    old: PathLike,
    new: PathLike,
    *,
    gpus: int | None = None,
    nodes: int | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
    expert_bytes: int | None = None,
) -> Diff:
    """The copies and bytes to go from the plan in ``old`` to the one in ``new`` (any formats), at
    ``expert_bytes`` per copy, else the model profile's FP8 size."""
    read = functools.partial(read_plan, gpus=gpus, nodes=nodes, model=model, first_moe_layer=first_moe_layer)
    a, b = read(old), read(new)
    eb, src = layouts.expert_bytes(model, expert_bytes)
    with about_file(new):
        return diff(a, b, expert_bytes=eb, expert_bytes_from=src)
