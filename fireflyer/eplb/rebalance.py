"""Plans from loads: the DeepSeek-compatible ``rebalance_experts`` and the numpy-level ``plan``.

The solvers live in the compiled core (``csrc/eplb/rebalance.cpp``, ``csrc/eplb/migrate.cpp``); this
module checks arguments with precise messages, picks the policy and shapes the result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from .._core import eplb as _core
from ..errors import InputError

POLICIES = ("deepseek", "balanced")


@dataclass
class Plan:
    """One plan: ``phy2log`` [L, R], ``log2phy`` [L, E, K] (-1 padded, slots ascending), ``logcnt`` [L, E]."""

    phy2log: np.ndarray
    log2phy: np.ndarray
    logcnt: np.ndarray
    gpus: int
    nodes: int = 1
    groups: int = 1
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> int:
        return int(self.phy2log.shape[0])

    @property
    def replicas(self) -> int:
        return int(self.phy2log.shape[1])

    @property
    def experts(self) -> int:
        return int(self.logcnt.shape[1])


def as_loads(weight: Any, *, file: str | None = None, field_: str = "weight") -> np.ndarray:
    """Torch tensor, numpy array or nested lists -> C-contiguous float32 [layers, experts], checked."""
    if hasattr(weight, "detach"):  # torch tensor, without importing torch
        weight = weight.detach().cpu().numpy()
    try:
        arr = np.asarray(weight, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"expected a [layers, experts] array of numbers ({e})", file=file, field=field_) from None
    if arr.ndim != 2:
        raise InputError(f"expected a [layers, experts] array, got rank {arr.ndim} shape {list(arr.shape)}",
                         file=file, field=field_)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"expected a non-empty [layers, experts] array, got shape {list(arr.shape)}",
                         file=file, field=field_)
    bad = ~np.isfinite(arr)
    if bad.any():
        l, e = map(int, np.argwhere(bad)[0])
        raise InputError(f"load at layer {l}, expert {e} is {arr[l, e]}; loads must be finite", file=file, field=field_)
    if (arr < 0).any():
        l, e = map(int, np.argwhere(arr < 0)[0])
        raise InputError(f"load at layer {l}, expert {e} is {arr[l, e]}; loads must be non-negative",
                         file=file, field=field_)
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_layout(experts: int, replicas: int, groups: int, nodes: int, gpus: int, *, hierarchical: bool) -> None:
    """Raise InputError naming the argument when the layout cannot hold a plan."""
    if gpus <= 0:
        raise InputError(f"must be positive, got {gpus}", field="gpus")
    if nodes <= 0:
        raise InputError(f"must be positive, got {nodes}", field="nodes")
    if groups <= 0:
        raise InputError(f"must be positive, got {groups}", field="groups")
    if replicas < experts:
        raise InputError(f"{replicas} replicas is fewer than the {experts} experts; every expert needs a slot",
                         field="replicas")
    if replicas % gpus:
        raise InputError(f"{replicas} replicas is not a multiple of {gpus} GPUs", field="replicas")
    if gpus % nodes:
        raise InputError(f"{gpus} GPUs is not a multiple of {nodes} nodes", field="gpus")
    if hierarchical and groups % nodes:
        raise InputError(f"{groups} groups is not a multiple of {nodes} nodes, as the hierarchical policy needs",
                         field="groups")
    if (hierarchical or groups % nodes == 0) and experts % groups:
        raise InputError(f"{experts} experts is not a multiple of {groups} groups (hierarchical policy)",
                         field="groups")


def digest(loads: np.ndarray) -> str:
    """A short, stable digest of a load array (shape and float32 bytes)."""
    h = hashlib.sha256(f"{loads.shape}".encode())
    h.update(np.ascontiguousarray(loads, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def imbalance(loads: np.ndarray, phy2log: np.ndarray, gpus: int) -> np.ndarray:
    """Max over mean GPU load of each layer (float64 [L])."""
    return np.asarray(_core.imbalance(np.ascontiguousarray(loads, np.float32),
                                      np.ascontiguousarray(phy2log, np.int64), gpus))


def plan(loads: Any, replicas: int, groups: int, nodes: int, gpus: int, *, policy: str = "balanced",
         hierarchical: bool | None = None, previous: Plan | np.ndarray | None = None, tolerance: float = 0.01,
         max_copies: int | None = None) -> Plan:
    """Plan every layer of ``loads`` [L, E].

    ``policy="deepseek"`` reproduces DeepSeek's EPLB (hierarchical when groups % nodes == 0, else global);
    ``policy="balanced"`` is never worse in max/mean and keeps groups on one node when ``hierarchical``.
    With ``previous`` (a Plan or a phy2log array) the plan starts from it and moves as few expert copies
    as possible while the plan's max/mean (the mean over layers) stays within ``tolerance`` of fresh balanced
    plans' for the new loads: copies go to the layers where they buy the most balance, and no layer gets
    worse than the previous plan on the new loads. ``max_copies`` caps the copies over all layers.
    """
    w = as_loads(loads)
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}", field="policy")
    hier = bool(hierarchical) if hierarchical is not None else False
    check_layout(w.shape[1], replicas, groups, nodes, gpus, hierarchical=hier)
    if tolerance < 0:
        raise InputError(f"must be non-negative, got {tolerance}", field="tolerance")
    if previous is not None:
        prev = previous.phy2log if isinstance(previous, Plan) else np.asarray(previous)
        check_plan_matches(prev, w, replicas)
        p2l, l2p, cnt = _core.migrate(w, np.ascontiguousarray(prev, np.int64), groups, nodes, gpus, hier,
                                      float(tolerance), -1 if max_copies is None else int(max_copies))
        policy_name = "balanced+migration"
    else:
        p2l, l2p, cnt = _core.rebalance(w, replicas, groups, nodes, gpus, policy, hier)
        policy_name = policy
    ratios = imbalance(w, p2l, gpus)
    meta = {"policy": policy_name, "hierarchical": hier if policy == "balanced" else groups % nodes == 0,
            "replicas": replicas, "groups": groups, "nodes": nodes, "gpus": gpus,
            "layers": int(w.shape[0]), "experts": int(w.shape[1]),
            "imbalance": {"mean": float(ratios.mean()), "worst": float(ratios.max())},
            "input_digest": digest(w), "version": __version__}
    if previous is not None:
        meta["tolerance"] = tolerance
    return Plan(p2l, l2p, cnt, gpus=gpus, nodes=nodes, groups=groups, meta=meta)


def check_plan_matches(phy2log: np.ndarray, loads: np.ndarray, replicas: int | None = None,
                       *, file: str | None = None) -> None:
    """A plan and a load of different shapes is bad input: say which dimension differs."""
    if phy2log.ndim != 2:
        raise InputError(f"expected [layers, replicas], got rank {phy2log.ndim}", file=file,
                         field="physical_to_logical_map")
    if phy2log.shape[0] != loads.shape[0]:
        raise InputError(f"plan has {phy2log.shape[0]} layers, load has {loads.shape[0]}", file=file,
                         field="physical_to_logical_map")
    if replicas is not None and phy2log.shape[1] != replicas:
        raise InputError(f"plan has {phy2log.shape[1]} replicas, {replicas} requested", file=file,
                         field="physical_to_logical_map")
    if phy2log.size and (phy2log.min() < 0 or phy2log.max() >= loads.shape[1]):
        raise InputError(f"plan names experts 0..{int(phy2log.max())}, load has {loads.shape[1]} experts",
                         file=file, field="physical_to_logical_map")
    for l in range(phy2log.shape[0]):
        if np.unique(phy2log[l]).size != loads.shape[1]:
            raise InputError(f"layer {l} does not place every one of the {loads.shape[1]} experts", file=file,
                             field="physical_to_logical_map")


def rebalance_experts(weight: Any, num_replicas: int, num_groups: int, num_nodes: int, num_gpus: int,
                      policy: str = "deepseek", hierarchical: bool | None = None):
    """Drop-in for DeepSeek's ``eplb.rebalance_experts``: (phy2log, log2phy, logcnt) as torch int64 tensors.

    Accepts torch tensors, numpy arrays and nested lists. ``log2phy[l][e]`` lists the slots of expert e in
    ascending order, padded with -1 to the largest replica count. Equal loads are ordered lower index
    first (the reference's sort is unstable, so only tie-free inputs have one right answer).
    """
    import torch  # NOTE: lazy, so the CLI starts without torch

    p = plan(weight, num_replicas, num_groups, num_nodes, num_gpus, policy=policy, hierarchical=hierarchical)
    return torch.from_numpy(p.phy2log), torch.from_numpy(p.log2phy), torch.from_numpy(p.logcnt)
