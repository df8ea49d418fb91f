"""A small training job to try `flyer trace capture` on: a few steps of an MLP with AdamW, on the GPU when
there is one. Under torchrun it trains with DistributedDataParallel (gloo on CPU, NCCL with a GPU per rank),
so its traces hold communication beside compute.

    flyer trace capture --out traces -- python -m fireflyer.trace.demo
    flyer trace capture --out traces -- torchrun --nproc-per-node 2 -m fireflyer.trace.demo --steps 8
"""

from __future__ import annotations

import argparse

import torch

from .. import device as devices
from ..cluster import dist_env, process_group


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m fireflyer.trace.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps (default 8)")
    ap.add_argument("--hidden", type=int, default=256, help="width of the MLP (default 256)")
    ap.add_argument("--batch", type=int, default=512, help="rows per step (default 512)")
    a = ap.parse_args(argv)
    if dist_env() is None:
        train(a.steps, a.hidden, a.batch, rank=None)
        return
    with process_group() as env:
        train(a.steps, a.hidden, a.batch, rank=env.local_rank)


def train(steps: int, hidden: int, batch: int, *, rank: int | None) -> None:
    """``steps`` AdamW steps of the MLP; with DistributedDataParallel when ``rank`` (on this machine) is
    given."""
    dev = devices.choose("auto")
    if dev.type == "cuda" and rank is not None:
        dev = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    torch.manual_seed(0)
    model: torch.nn.Module = torch.nn.Sequential(
        torch.nn.Linear(hidden, 4 * hidden), torch.nn.GELU(), torch.nn.Linear(4 * hidden, hidden)
    ).to(dev)
    if rank is not None:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, hidden, device=dev)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
    devices.synchronize(dev)


if __name__ == "__main__":
    main()
