"""Run a function on P torch.distributed ranks: spawned here on one machine, or already under torchrun.

fireflyer never speaks its own cluster protocol: ranks rendezvous through torch.distributed's env://
(MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE), gloo on CPU and NCCL on GPU, exactly as under torchrun.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .. import device
from .environment import free_port


def _worker(
    local_rank: int, world: int, port: int, backend: str, fn: Callable[..., Any], args: tuple, queue: Any
) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(local_rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(local_rank),
        LOCAL_WORLD_SIZE=str(world),
    )
    if backend == "nccl":
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

    ``backend`` defaults to ``fireflyer.device.distributed_backend(nprocs)``: NCCL with a GPU per rank,
    else gloo.
    """
    if nprocs < 1:
        raise ValueError(f"nprocs must be >= 1, got {nprocs}")
    if backend is None:
        backend = device.distributed_backend(nprocs)
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
