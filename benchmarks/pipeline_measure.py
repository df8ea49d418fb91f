"""Measured F, B, B-input and W of the scaled-down block per model, and DualPipe simulated on them.

The baseline for W is the naive split: B-input as autograd.grad towards the input with retain_graph, then
autograd.grad towards the parameters. That second pass walks the activation-gradient chain again, so
B-input + naive W exceeds B; the zero-bubble split used by `measure` keeps B-input + W close to B.

    python benchmarks/pipeline_measure.py [--repeat 10] [--hidden 256] [--tokens 256] [--device auto] [--json]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _util import report
from fireflyer.kernels.bench import time_fn

from fireflyer.pipeline import measure as pm
from fireflyer.pipeline import simulate


def naive_w(model: str, hidden: int, tokens: int, repeat: int) -> float:
    dims = pm.block_dims(model, hidden=hidden, tokens=tokens)
    dims.pop("model")
    blk = pm.Block(dims, device="cpu", dtype=torch.float32)
    x = torch.randn(1, tokens, hidden, requires_grad=True)
    gy = torch.randn(1, tokens, hidden)
    params = list(blk.params.values())
    samples = []
    for i in range(repeat + 1):
        out = blk.forward(x)
        torch.autograd.grad(out, [x], gy, retain_graph=True)
        t = time_fn(lambda out=out: torch.autograd.grad(out, params, gy), warmup=0, repeat=1).median
        if i:
            samples.append(t)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=pm.DEFAULT_HIDDEN)
    ap.add_argument("--tokens", type=int, default=pm.DEFAULT_TOKENS)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows, device = [], ""
    for model in ("deepseek-v3", "deepseek-v2-lite"):
        m = pm.measure(model, hidden=a.hidden, tokens=a.tokens, device=a.device, repeats=a.repeat)
        device = m.device
        sim = simulate("dualpipe", 8, 20, m.chunk_times())
        ms = 1e3
        row = [model, m.f * ms, m.b * ms, m.b_input * ms, m.w * ms, (m.b_input + m.w) / m.b]
        if m.device.startswith("cpu"):
            row.append((m.b_input + naive_w(model, a.hidden, a.tokens, a.repeat)) / m.b)
        else:
            row.append(None)
        rows.append(row + [sim.makespan * ms, sim.bubble_fraction])
    report(
        "pipeline measure: one block, ms; DualPipe PP 8, N 20 on the measured times",
        [
            "model",
            "F",
            "B",
            "B-input",
            "W",
            "(B-input+W)/B",
            "(B-input+naive W)/B",
            "makespan",
            "bubble frac",
        ],
        rows,
        a.json,
        {"device": device, "hidden": a.hidden, "tokens": a.tokens},
    )


if __name__ == "__main__":
    main()
