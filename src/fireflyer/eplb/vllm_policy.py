"""fireflyer's balanced policy inside vLLM: an EPLB policy class with the interface of vLLM's
``AbstractEplbPolicy`` and a general plugin that installs it.

vLLM computes its plans in-process: every ``--eplb-config.step_interval`` steps ``EplbState.rearrange`` calls
``EPLB_POLICIES[eplb_config.policy].rebalance_experts(load, num_replicas, num_groups, num_nodes, num_ranks,
old_physical_to_logical_map)`` and moves the expert weights to the new map. The policy names are a closed list
(``default`` only), so the plugin replaces the class behind ``default``. It does so only when the
``FLYER_VLLM_EPLB`` environment variable says ``balanced``: installing fireflyer alone changes nothing in
vLLM.

Enable: ``pip install fireflyer`` into vLLM's environment, then ``FLYER_VLLM_EPLB=balanced vllm serve MODEL
--enable-expert-parallel --enable-eplb ...``. vLLM loads ``vllm.general_plugins`` entry points in every
process (front end, engine core, workers), so every rank gets the policy.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from .solver import plan

ENV = "FLYER_VLLM_EPLB"
MODES = ("balanced",)
log = logging.getLogger(__name__)


class BalancedEplbPolicy:
    """vLLM's ``AbstractEplbPolicy`` interface computing with fireflyer's balanced policy.

    With ``old_global_expert_indices`` (the map in place, [layers, num_replicas]) the plan is migration-aware:
    it starts from that map and moves as few expert copies as keep max/mean (mean over layers) within
    ``tolerance`` of fresh balanced plans. A map of another shape (the GPU count changed), with vLLM's -1
    padding, or one that misses an expert gets a fresh plan. Groups stay on one node (hierarchical) when the
    groups divide among several nodes, as vLLM's default policy chooses.
    """

    tolerance = 0.01

    @classmethod
    def rebalance_experts(
        cls,
        weight: Any,
        num_replicas: int,
        num_groups: int,
        num_nodes: int,
        num_ranks: int,
        old_global_expert_indices: Any = None,
    ):
        import torch  # NOTE: vLLM hands torch tensors in and expects one back

        w = weight.float().cpu().numpy() if hasattr(weight, "cpu") else np.asarray(weight, dtype=np.float32)
        layers, experts = w.shape
        hierarchical = num_nodes > 1 and num_groups % num_nodes == 0 and experts % num_groups == 0
        previous = None
        if old_global_expert_indices is not None:
            old = np.asarray(
                old_global_expert_indices.cpu().numpy()
                if hasattr(old_global_expert_indices, "cpu")
                else old_global_expert_indices
            )
            if (
                old.shape == (layers, num_replicas)
                and old.min() >= 0
                and old.max() < experts
                and all(np.unique(row).size == experts for row in old)
            ):
                previous = old.astype(np.int64)
        p = plan(
            w,
            num_replicas,
            num_groups if hierarchical else 1,
            num_nodes if hierarchical else 1,
            num_ranks,
            policy="balanced",
            hierarchical=hierarchical,
            previous=previous,
            tolerance=cls.tolerance,
        )
        return torch.from_numpy(p.phy2log)


def install() -> bool:
    """The ``vllm.general_plugins`` entry point: with ``FLYER_VLLM_EPLB=balanced``, vLLM's ``default`` EPLB
    policy becomes ``BalancedEplbPolicy``. Returns whether it installed. Safe to call more than once."""
    mode = os.environ.get(ENV, "").strip().lower()
    if mode in ("", "0", "off", "no", "false"):
        return False
    if mode not in MODES:
        log.warning(
            "%s=%r is not one of %s; vLLM's EPLB policy is left as it is", ENV, mode, ", ".join(MODES)
        )
        return False
    from vllm.distributed.eplb.policy import EPLB_POLICIES, AbstractEplbPolicy

    AbstractEplbPolicy.register(BalancedEplbPolicy)
    # NOTE: vLLM leaves this dict unannotated, so mypy takes its type from its one entry (DefaultEplbPolicy);
    # vLLM uses the entry through AbstractEplbPolicy's interface, which the class registered above implements.
    EPLB_POLICIES["default"] = BalancedEplbPolicy  # type: ignore[assignment]
    log.info("fireflyer: vLLM's EPLB policy 'default' is now fireflyer's balanced policy (%s=%s)", ENV, mode)
    return True
