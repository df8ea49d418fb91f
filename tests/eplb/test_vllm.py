"""vLLM 0.33.0 is the judge of the EPLB policy plugin: its ``AbstractEplbPolicy`` interface, its closed list
``EPLB_POLICIES``, its own plugin loader (``vllm.plugins.load_general_plugins``), called as
``EplbState.rearrange`` calls the policy. Its default policy (DeepSeek's algorithm ported to numpy) is the
baseline. Skipped, with the reason, where the wheel is not installed (``.ci/run`` installs it with
``--no-deps``); ``engines.py`` says what is stubbed.
"""

from __future__ import annotations

import importlib.metadata
import inspect

import numpy as np
import pytest
import torch

from fireflyer import eplb
from fireflyer.eplb import vllm_policy

from . import engines


@pytest.fixture
def policies(monkeypatch):
    pkg = engines.vllm_policies()
    monkeypatch.setitem(pkg.EPLB_POLICIES, "default", pkg.EPLB_POLICIES["default"])  # restored afterwards
    return pkg


def rearrange(policy, window, phy2log, num_groups, num_nodes, num_gpus):
    """What EplbState.rearrange hands the policy: the window mapped to logical experts and summed, the
    replica count, groups, nodes, ranks and the map in place (all on the CPU)."""
    experts = int(phy2log.max()) + 1
    logical = torch.zeros(window.shape[0], window.shape[1], experts + 1, dtype=window.dtype)
    index = phy2log.masked_fill(phy2log < 0, experts).unsqueeze(0).expand_as(window).long()
    logical.scatter_add_(-1, index, window)
    load = logical[..., :-1].sum(dim=0)
    return policy.rebalance_experts(
        load.cpu(), phy2log.shape[1], num_groups, num_nodes, num_gpus, phy2log.cpu()
    )


def test_the_plugin_is_off_unless_asked(policies, monkeypatch):
    monkeypatch.delenv(vllm_policy.ENV, raising=False)
    default = policies.EPLB_POLICIES["default"]
    assert vllm_policy.install() is False and policies.EPLB_POLICIES["default"] is default
    monkeypatch.setenv(vllm_policy.ENV, "fastest")
    assert vllm_policy.install() is False and policies.EPLB_POLICIES["default"] is default


def test_vllms_plugin_loader_installs_it(policies, monkeypatch):
    """Our entry point, found by vLLM's own loader in the installed metadata, run as vLLM runs it."""
    eps = importlib.metadata.entry_points(group="vllm.general_plugins")
    assert any(ep.value == "fireflyer.eplb.vllm_policy:install" for ep in eps)
    plugins = engines.module("vllm.plugins")
    monkeypatch.setattr(plugins, "plugins_loaded", False)
    monkeypatch.setenv(vllm_policy.ENV, "balanced")
    monkeypatch.delenv("VLLM_PLUGINS", raising=False)
    plugins.load_general_plugins()
    assert policies.EPLB_POLICIES["default"] is vllm_policy.BalancedEplbPolicy
    assert issubclass(vllm_policy.BalancedEplbPolicy, policies.AbstractEplbPolicy)


def test_same_interface_as_vllms_abstract_policy(policies):
    theirs = inspect.signature(policies.AbstractEplbPolicy.rebalance_experts)
    ours = inspect.signature(vllm_policy.BalancedEplbPolicy.rebalance_experts)
    assert list(ours.parameters) == list(theirs.parameters)
    assert ours.parameters["old_global_expert_indices"].default is None


def test_called_as_eplb_state_calls_it(policies):
    """DeepSeek-V3 on EP32 over 4 nodes: a window of int32 physical counts under the identity map."""
    _, default = engines.vllm_policy_modules()
    counts = torch.from_numpy(eplb.sample_load().astype(np.int32))
    phy2log = torch.arange(288).repeat(58, 1) % 256
    window = torch.zeros(2, 58, 288, dtype=torch.int32)
    window[0, :, :256] = counts
    new = rearrange(vllm_policy.BalancedEplbPolicy, window, phy2log, 8, 4, 32)
    assert new.dtype == torch.int64 and new.shape == (58, 288)
    assert all(set(row.tolist()) == set(range(256)) for row in new)
    base = rearrange(default.DefaultEplbPolicy, window, phy2log, 8, 4, 32)
    fresh = vllm_policy.BalancedEplbPolicy.rebalance_experts(counts, 288, 8, 4, 32)
    w = counts.numpy().astype(np.float32)
    theirs, ours_fresh, ours = (eplb.imbalance(w, p.numpy(), 32).mean() for p in (base, fresh, new))
    # Groups stay on their node (hierarchical), as vLLM's default chooses for 8 groups on 4 nodes.
    assert ours_fresh <= theirs, "never worse than vLLM's default"
    assert ours <= ours_fresh * (1 + vllm_policy.BalancedEplbPolicy.tolerance) + 1e-9, "within the tolerance"
    again = vllm_policy.BalancedEplbPolicy.rebalance_experts(counts, 288, 8, 4, 32, new)
    assert torch.equal(again, new), "migration-aware: the same load keeps the map in place"
    padded = new.clone()
    padded[:, -1] = -1  # vLLM pads with -1 when the EP size changes: a fresh plan, no error
    assert rearrange(vllm_policy.BalancedEplbPolicy, window, padded, 8, 4, 32).shape == (58, 288)


def test_migration_moves_few_experts():
    prev = torch.from_numpy(eplb.plan(eplb.sample_load(), 288, 8, 4, 32, hierarchical=True).phy2log)
    nxt = torch.from_numpy(eplb.sample_load("next-load").astype(np.int64))
    fresh = vllm_policy.BalancedEplbPolicy.rebalance_experts(nxt, 288, 8, 4, 32)
    kept = vllm_policy.BalancedEplbPolicy.rebalance_experts(nxt, 288, 8, 4, 32, prev)

    def moved(a, b):
        return sum(
            len(set(a[l, g * 9 : g * 9 + 9].tolist()) - set(b[l, g * 9 : g * 9 + 9].tolist()))
            for l in range(58)
            for g in range(32)
        )

    assert moved(kept, prev) < moved(fresh, prev) / 3
