"""Plans from loads: the DeepSeek-compatible ``rebalance_experts`` and the numpy-level ``plan``.

The solvers live in the compiled core (``csrc/eplb/solver.cpp``: balanced; ``deepseek.cpp``: DeepSeek's
eplb.py in steps; ``migrate.cpp``: plans from a previous one), which also checks the layout and the loads,
naming the argument at fault; this module converts inputs to arrays, picks the policy, hands the core
torch's sort orders for the deepseek policy and shapes the result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from .._core import eplb as _core
from ..compat import StrEnum
from ..errors import InputError


class Policy(StrEnum):
    """How ``plan`` places experts: ``deepseek`` is DeepSeek's eplb.py exactly, ``balanced`` never worse."""

    DEEPSEEK = "deepseek"
    BALANCED = "balanced"


POLICIES = tuple(p.value for p in Policy)
PACK_SUMS = ("float32", "float64")


@dataclass
class Plan:
    """One plan: ``phy2log`` [L, slots], ``log2phy`` [L, E, K] (-1 padded), ``logcnt`` [L, E], and
    ``layer_ids`` [L], the decoder layer of each row (the engines index plans by it).

    ``log2phy`` lists each expert's slots in replica order under the deepseek policy (as DeepSeek's eplb.py),
    else ascending. ``decoder_layers`` is the model's decoder-layer count where known (SGLang's plans have a
    row for every decoder layer).
    """

    phy2log: np.ndarray
    log2phy: np.ndarray
    logcnt: np.ndarray
    gpus: int
    nodes: int = 1
    groups: int = 1
    meta: dict[str, Any] = field(default_factory=dict)
    layer_ids: np.ndarray | None = None
    decoder_layers: int | None = None

    def __post_init__(self) -> None:
        if self.layer_ids is None:
            self.layer_ids = np.arange(self.phy2log.shape[0], dtype=np.int64)
        self.layer_ids = np.asarray(self.layer_ids, dtype=np.int64)

    @property
    def layers(self) -> int:
        return int(self.phy2log.shape[0])

    @property
    def slots(self) -> int:
        """Physical expert slots per layer (each holds one replica of a logical expert)."""
        return int(self.phy2log.shape[1])

    @property
    def experts(self) -> int:
        return int(self.logcnt.shape[1])


def to_numpy(value: Any) -> np.ndarray:
    """A torch tensor (without importing torch), numpy array or nested lists as a numpy array; float types
    numpy lacks (bfloat16, float8) as float32. TypeError or ValueError for what is not an array."""
    if hasattr(value, "detach"):
        t = value.detach().cpu()
        try:
            return t.numpy()
        except (TypeError, RuntimeError):
            if not t.is_floating_point():
                raise TypeError(f"a tensor of {t.dtype}, {t.layout}") from None
            return t.float().numpy()
    return np.asarray(value)


def as_loads(weight: Any, *, file: str | None = None, field_: str = "weight") -> np.ndarray:
    """Torch tensor, numpy array or nested lists of real numbers -> C-contiguous float32 [layers, experts].

    Whether the values are finite and non-negative is checked by the core, which names the layer and expert.
    """
    try:
        arr = to_numpy(weight)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"expected a [layers, experts] array of numbers ({e})", file=file, field=field_
        ) from None
    if arr.dtype.kind not in "iuf":
        what = {
            "b": "true/false values",
            "c": "complex numbers",
            "U": "text",
            "S": "text",
            "O": "mixed values",
        }
        raise InputError(
            f"expected numbers, got {what.get(arr.dtype.kind, str(arr.dtype))}", file=file, field=field_
        )
    if arr.ndim != 2:
        raise InputError(
            f"expected a [layers, experts] array, got rank {arr.ndim} shape {list(arr.shape)}",
            file=file,
            field=field_,
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(
            f"expected a non-empty [layers, experts] array, got shape {list(arr.shape)}",
            file=file,
            field=field_,
        )
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.dtype.kind == "f" and not np.isfinite(out).all() and np.isfinite(arr).all():
        raise InputError("a load is too large for float32", file=file, field=field_)
    return out


def digest(loads: np.ndarray) -> str:
    """A short, stable digest of a load array (shape and float32 bytes)."""
    h = hashlib.sha256(f"{loads.shape}".encode())
    h.update(np.ascontiguousarray(loads, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def imbalance(loads: np.ndarray, phy2log: np.ndarray, gpus: int) -> np.ndarray:
    """Max over mean GPU load of each layer (float64 [L])."""
    return np.asarray(
        _core.imbalance(
            np.ascontiguousarray(loads, np.float32), np.ascontiguousarray(phy2log, np.int64), gpus
        )
    )


def _deepseek(w: np.ndarray, slots: int, groups: int, nodes: int, gpus: int, pack_sums: str):
    """DeepSeek's eplb.py: the core does the work, torch orders the items exactly as eplb.py's own
    ``sort(descending=True)`` does (its order among equal loads depends on torch's sorting backend)."""
    import torch  # NOTE: only the deepseek policy needs torch: eplb.py's tie order is torch's

    planner = _core.deepseek_planner(w, slots, groups, nodes, gpus, pack_sums == "float64")
    weight = torch.from_numpy(w)
    group_loads = weight.unflatten(-1, (planner.groups, w.shape[1] // planner.groups)).sum(-1)
    group_order = group_loads.sort(-1, descending=True).indices
    per_replica = torch.from_numpy(planner.replicate(group_loads.numpy(), group_order.numpy()))
    return planner.place(per_replica.sort(-1, descending=True).indices.numpy())


def plan(
    loads: Any,
    slots: int,
    groups: int,
    nodes: int,
    gpus: int,
    *,
    policy: str = "balanced",
    hierarchical: bool | None = None,
    previous: Plan | np.ndarray | None = None,
    tolerance: float = 0.01,
    max_copies: int | None = None,
    layer_ids: Any = None,
    decoder_layers: int | None = None,
    pack_sums: str = "float32",
) -> Plan:
    """Plan every layer of ``loads`` [L, E] on ``slots`` physical expert slots per layer.

    ``policy="deepseek"`` is DeepSeek's EPLB exactly (eplb.py on the same torch: hierarchical when
    groups % nodes == 0, else global; ``log2phy`` in replica order); ``pack_sums="float64"`` sums pack loads
    as SGLang's copy of eplb.py does (Python floats) instead of eplb.py's float32. ``policy="balanced"`` is
    never worse in max/mean and keeps groups on one node when ``hierarchical``. With ``previous`` (a Plan or a
    phy2log array, rows for the same layers) the plan starts from it and moves as few expert copies as
    possible while the plan's max/mean (the mean over layers) stays within ``tolerance`` of fresh balanced
    plans' for the new loads: copies go to the layers where they buy the most balance, and no layer gets
    worse than the previous plan on the new loads. ``max_copies`` caps the copies over all layers.
    ``layer_ids`` names the decoder layer of each row (default 0..L-1) and ``decoder_layers`` the model's
    decoder-layer count, for the engine formats.
    """
    w = as_loads(loads)
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}", field="policy")
    policy = str(policy)  # NOTE: a Policy member is its value, so the plan's meta holds plain text
    if pack_sums not in PACK_SUMS:
        raise InputError(f"expected one of {', '.join(PACK_SUMS)}, got {pack_sums!r}", field="pack_sums")
    hier = bool(hierarchical)
    if previous is not None:
        prev = previous.phy2log if isinstance(previous, Plan) else np.asarray(previous)
        if prev.ndim != 2 or prev.shape[1] != slots:
            raise InputError(
                f"previous plan has shape {list(prev.shape)}, not [layers, {slots} slots]",
                field="previous",
            )
        p2l, l2p, cnt = _core.migrate(
            w,
            np.ascontiguousarray(prev, np.int64),
            groups,
            nodes,
            gpus,
            hier,
            float(tolerance),
            -1 if max_copies is None else int(max_copies),
        )
        policy_name = "balanced+migration"
    elif policy == "deepseek":
        p2l, l2p, cnt = _deepseek(w, slots, groups, nodes, gpus, pack_sums)
        policy_name = policy
    else:
        p2l, l2p, cnt = _core.balanced(w, slots, groups, nodes, gpus, hier)
        policy_name = policy
    ids = np.arange(w.shape[0], dtype=np.int64) if layer_ids is None else np.asarray(layer_ids, np.int64)
    if ids.shape != (w.shape[0],):
        raise InputError(f"expected {w.shape[0]} layer ids, got {ids.size}", field="layer_ids")
    ratios = imbalance(w, p2l, gpus)
    loaded = w.sum(axis=1) > 0
    meta = {
        "policy": policy_name,
        "hierarchical": hier if policy == "balanced" or previous is not None else groups % nodes == 0,
        "slots": slots,
        "groups": groups,
        "nodes": nodes,
        "gpus": gpus,
        "layers": int(w.shape[0]),
        "experts": int(w.shape[1]),
        "layer_ids": [int(x) for x in ids],
        "decoder_layers": decoder_layers,
        "imbalance": _summary(ratios, loaded),
        "input_digest": digest(w),
        "version": __version__,
    }
    if policy == "deepseek" and previous is None and pack_sums != "float32":
        meta["pack_sums"] = pack_sums
    if previous is not None:
        meta["tolerance"] = tolerance
    return Plan(
        p2l,
        l2p,
        cnt,
        gpus=gpus,
        nodes=nodes,
        groups=groups,
        meta=meta,
        layer_ids=ids,
        decoder_layers=decoder_layers,
    )


def _summary(ratios: np.ndarray, loaded: np.ndarray) -> dict:
    """Mean and worst max/mean over the rows that carry load (dense layers' empty rows are not balanced, they
    are absent)."""
    r = ratios[loaded] if loaded.any() else ratios
    return {"mean": float(r.mean()), "worst": float(r.max())}


def rebalance_experts(
    weight: Any,
    num_replicas: int,
    num_groups: int,
    num_nodes: int,
    num_gpus: int,
    policy: str = "deepseek",
    hierarchical: bool | None = None,
):
    """Drop-in for DeepSeek's ``eplb.rebalance_experts``: (phy2log, log2phy, logcnt) as torch int64 tensors.

    The name and the arguments are DeepSeek's, kept as DeepSeek names them (``num_replicas`` is what
    fireflyer calls slots) so that callers swap the import and nothing else; ``flyer eplb rebalance``, the
    cron job, is a different thing (``cron.rebalance``).

    Accepts torch tensors, numpy arrays and nested lists. With the deepseek policy the three tensors equal
    eplb.py's on the same torch, ``log2phy[l][e]`` listing the slots of expert e in replica order, padded with
    -1 to the largest replica count; with the balanced policy the slots are ascending.
    """
    import torch  # NOTE: only this drop-in returns tensors; the rest of eplb is numpy

    p = plan(weight, num_replicas, num_groups, num_nodes, num_gpus, policy=policy, hierarchical=hierarchical)
    return torch.from_numpy(p.phy2log), torch.from_numpy(p.log2phy), torch.from_numpy(p.logcnt)
