"""A short training job for `flyer trace capture` on a GPU machine: a few steps of a small MLP-and-attention
model with an optimizer (the capture steps the profiler from the optimizer's step hook), and, under torchrun
with several GPUs, an all-reduce of the gradients (DDP) so the trace holds NCCL kernels beside compute.

    python benchmarks/gpu/train_step.py [--steps 8]
    torchrun --nproc-per-node 2 benchmarks/gpu/train_step.py
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=4096)
    a = ap.parse_args()
    ranked = "RANK" in os.environ
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else "cpu"
    )
    if ranked:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if device != "cpu":
        torch.cuda.set_device(device)
    model = torch.nn.Sequential(
        torch.nn.Linear(a.hidden, 4 * a.hidden), torch.nn.GELU(), torch.nn.Linear(4 * a.hidden, a.hidden)
    ).to(device)
    if ranked:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(4096, a.hidden, device=device)
    for _ in range(a.steps):
        opt.zero_grad(set_to_none=True)
        loss = model(x).float().pow(2).mean()
        loss.backward()
        opt.step()
    if device != "cpu":
        torch.cuda.synchronize()
    if ranked:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
