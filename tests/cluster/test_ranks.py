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
    assert env.local_rank == rank and env.local_world_size == world  # all on this machine
    return float(t.item())


def test_launch_local_gloo_allreduce():
    assert launch_local(_allreduce, 2, 10.0, backend="gloo") == [21.0, 21.0]


def test_free_port_and_no_env(monkeypatch):
    assert 0 < free_port() < 65536
    monkeypatch.delenv("RANK", raising=False)
    assert dist_env() is None


def test_local_world_size_under_torchrun(monkeypatch):
    env = {"RANK": "9", "WORLD_SIZE": "16", "LOCAL_RANK": "1", "MASTER_ADDR": "n0", "MASTER_PORT": "29500"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert dist_env().local_world_size == 16  # not set: the whole world is taken as local
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # two nodes of 8, as torchrun sets it
    assert (dist_env().local_rank, dist_env().local_world_size) == (1, 8)
