"""Run a function on P torch.distributed ranks: spawned here on one machine, or already under torchrun.

fireflyer never speaks its own cluster protocol: ranks rendezvous through torch.distributed's env://
(MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE), gloo on CPU and NCCL on GPU, exactly as under torchrun.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DistEnv:
    rank: int
    world_size: int
    local_rank: int
    master_addr: str
    master_port: int


def dist_env() -> DistEnv | None:
    """The torch.distributed environment set by torchrun (or by ``launch_local``), if any."""
    try:
        return DistEnv(
            rank=int(os.environ["RANK"]),
            world_size=int(os.environ["WORLD_SIZE"]),
            local_rank=int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
            master_addr=os.environ["MASTER_ADDR"],
            master_port=int(os.environ["MASTER_PORT"]),
        )
    except (KeyError, ValueError):
        return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (for MASTER_PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _worker(
    local_rank: int, world: int, port: int, backend: str, fn: Callable[..., Any], args: tuple, queue: Any
) -> None:
    import torch.distributed as dist

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(local_rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(local_rank),
    )
    if backend == "nccl":
        import torch

        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, rank=local_rank, world_size=world)
    try:
        result = fn(local_rank, world, *args)
        queue.put((local_rank, result))
    finally:
        dist.destroy_process_group()


def launch_local(
    fn: Callable[..., Any], nprocs: int, *args: Any, backend: str | None = None, timeout: float = 600
) -> list[Any]:
    """Spawn ``nprocs`` processes on this machine, each calling ``fn(rank, world_size, *args)`` inside an
    initialised process group; return their results in rank order. ``fn`` must be importable (top-level).

    ``backend`` defaults to NCCL when there are at least ``nprocs`` CUDA devices, else gloo.
    """
    import torch
    import torch.multiprocessing as mp

    if nprocs < 1:
        raise ValueError(f"nprocs must be >= 1, got {nprocs}")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= nprocs else "gloo"
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    port = free_port()
    procs = mp.start_processes(
        _worker,
        args=(nprocs, port, backend, fn, args, queue),
        nprocs=nprocs,
        join=False,
        start_method="spawn",
    )
    results: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    # NOTE: drain while the ranks run: a result larger than the pipe buffer blocks its put until read.
    while True:
        while not queue.empty():
            rank, value = queue.get()
            results[rank] = value
        if procs.join(timeout=0.02):
            break
        if time.monotonic() > deadline:
            for p in procs.processes:
                if p.is_alive():
                    p.terminate()
            raise TimeoutError(f"{nprocs} ranks did not finish within {timeout:g} s")
    while not queue.empty():
        rank, value = queue.get()
        results[rank] = value
    return [results[r] for r in range(nprocs)]
