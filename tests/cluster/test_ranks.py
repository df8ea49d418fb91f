"""Launching real torch.distributed (gloo) processes on this machine."""

from __future__ import annotations

import torch
import torch.distributed as dist

from fireflyer.cluster import dist_env, free_port, launch_local


def _allreduce(rank: int, world: int, base: float) -> float:
    t = torch.tensor([base + rank])
    dist.all_reduce(t)
    env = dist_env()
    assert env is not None and env.rank == rank and env.world_size == world
    return float(t.item())


def test_launch_local_gloo_allreduce():
    assert launch_local(_allreduce, 2, 10.0, backend="gloo") == [21.0, 21.0]


def test_free_port_and_no_env(monkeypatch):
    assert 0 < free_port() < 65536
    monkeypatch.delenv("RANK", raising=False)
    assert dist_env() is None
