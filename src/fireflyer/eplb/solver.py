"""Plans from loads: the DeepSeek-compatible ``rebalance_experts`` and the numpy-level ``plan``.

The solvers live in the compiled core (``csrc/eplb/solver.cpp``, ``csrc/eplb/migrate.cpp``), which also
checks the layout and the loads, naming the argument at fault; this module converts inputs to arrays,
picks the policy and shapes the result.
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
    """Torch tensor, numpy array or nested lists of real numbers -> C-contiguous float32 [layers, experts].

    Whether the values are finite and non-negative is checked by the core, which names the layer and expert.
    """
    if hasattr(weight, "detach"):  # torch tensor, without importing torch
        weight = weight.detach().cpu().numpy()
    try:
        arr = np.asarray(weight)
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


def plan(
    loads: Any,
    replicas: int,
    groups: int,
    nodes: int,
    gpus: int,
    *,
    policy: str = "balanced",
    hierarchical: bool | None = None,
    previous: Plan | np.ndarray | None = None,
    tolerance: float = 0.01,
    max_copies: int | None = None,
) -> Plan:
    """Plan every layer of ``loads`` [L, E].

    ``policy="deepseek"`` reproduces DeepSeek's EPLB (hierarchical when groups % nodes == 0, else global);
    ``policy="balanced"`` is never worse in max/mean and keeps groups on one node when ``hierarchical``.
    With ``previous`` (a Plan or a phy2log array) the plan starts from it and moves as few expert copies
    as possible while the plan's max/mean (the mean over layers) stays within ``tolerance`` of fresh balanced
    plans' for the new loads: copies go to the layers where they buy the most balance, and no layer gets
    worse than the previous plan on the new loads. ``max_copies`` caps the copies over all layers.
    """
    w = as_loads(loads)
    hier = bool(hierarchical)
    if previous is not None:
        prev = previous.phy2log if isinstance(previous, Plan) else np.asarray(previous)
        if prev.ndim != 2 or prev.shape[1] != replicas:
            raise InputError(
                f"previous plan has shape {list(prev.shape)}, not [layers, {replicas} replicas]",
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
    else:
        p2l, l2p, cnt = _core.rebalance(w, replicas, groups, nodes, gpus, policy, hier)
        policy_name = policy
    ratios = imbalance(w, p2l, gpus)
    meta = {
        "policy": policy_name,
        "hierarchical": hier if policy == "balanced" else groups % nodes == 0,
        "replicas": replicas,
        "groups": groups,
        "nodes": nodes,
        "gpus": gpus,
        "layers": int(w.shape[0]),
        "experts": int(w.shape[1]),
        "imbalance": {"mean": float(ratios.mean()), "worst": float(ratios.max())},
        "input_digest": digest(w),
        "version": __version__,
    }
    if previous is not None:
        meta["tolerance"] = tolerance
    return Plan(p2l, l2p, cnt, gpus=gpus, nodes=nodes, groups=groups, meta=meta)


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

    Accepts torch tensors, numpy arrays and nested lists. ``log2phy[l][e]`` lists the slots of expert e in
    ascending order, padded with -1 to the largest replica count. Equal loads are ordered lower index
    first (the reference's sort is unstable, so only tie-free inputs have one right answer).
    """
    import torch  # NOTE: only this drop-in returns tensors; the rest of eplb is numpy

    p = plan(weight, num_replicas, num_groups, num_nodes, num_gpus, policy=policy, hierarchical=hierarchical)
    return torch.from_numpy(p.phy2log), torch.from_numpy(p.log2phy), torch.from_numpy(p.logcnt)
