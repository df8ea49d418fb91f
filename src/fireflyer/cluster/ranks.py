"""Run a function on P torch.distributed ranks: spawned here on one machine, or already under torchrun.

fireflyer never speaks its own cluster protocol: ranks rendezvous through torch.distributed's env://
(MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE), gloo on CPU and NCCL on GPU, exactly as under torchrun.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .. import device
from .environment import DistEnv, dist_env, free_port


@contextlib.contextmanager
def process_group(backend: str | None = None) -> Iterator[DistEnv]:
    """Be this rank of torchrun's (or ``launch_local``'s) job for the duration of the block: join the
    process group through env:// and leave it at the end. A group the caller already joined is used as it
    is and left open.

    ``backend`` defaults to ``fireflyer.device.distributed_backend`` for the ranks on this machine: NCCL
    with a GPU per rank, else gloo. With NCCL each rank takes the GPU numbered by its LOCAL_RANK.
    """
    env = dist_env()
    if env is None:
        raise RuntimeError("not a torch.distributed rank: RANK, WORLD_SIZE and MASTER_ADDR/PORT are not set")
    owned = not dist.is_initialized()
    if owned:
        backend = backend or device.distributed_backend(env.local_world_size)
        if backend == "nccl":
            torch.cuda.set_device(env.local_rank)
        dist.init_process_group(backend=backend)
    try:
        yield env
    finally:
        if owned:
            dist.destroy_process_group()


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
    with process_group(backend):
        queue.put((local_rank, fn(local_rank, world, *args)))


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
