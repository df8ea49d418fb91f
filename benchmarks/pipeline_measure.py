"""Measured F, B, B-input and W of the scaled-down block per model, their run-to-run agreement, and DualPipe
simulated on them.

The baseline for W is the naive split: B-input as autograd.grad towards the input with retain_graph, then
autograd.grad towards the parameters. That second pass walks the activation-gradient chain again, so
B-input + naive W exceeds B; the zero-bubble split used by `measure` keeps B-input + W close to B.
Each model is measured twice in the same process: F, B and W must agree within 10% between the two runs.

    python benchmarks/pipeline_measure.py [--samples 10] [--hidden 256] [--tokens 256] [--device auto]
        [--json]
"""

from __future__ import annotations

import argparse

import torch
from _util import report

from fireflyer import host
from fireflyer.pipeline import measurement as pm
from fireflyer.pipeline import simulate
from fireflyer.timing import Recorder


def naive_w(model: str, hidden: int, tokens: int, samples: int) -> float:
    dims = pm.block_dims(model, hidden=hidden, tokens=tokens)
    dims.pop("model")
    blk = pm.Block(dims, device="cpu", dtype=torch.float32)
    x = torch.randn(1, tokens, hidden, requires_grad=True)
    gy = torch.randn(1, tokens, hidden)
    params = list(blk.params.values())
    rec = Recorder("cpu", threads=host.threads_available(), warmup_seconds=pm.WARMUP_SECONDS)
    with rec.fixed():
        for _ in rec.steps(samples):
            out = blk.forward(x)
            torch.autograd.grad(out, [x], gy, retain_graph=True)
            with rec.section("w"):
                torch.autograd.grad(out, params, gy)
    return rec.timings()["w"].median


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=pm.DEFAULT_HIDDEN)
    ap.add_argument("--tokens", type=int, default=pm.DEFAULT_TOKENS)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows, device, threads = [], "", None
    for model in ("deepseek-v3", "deepseek-v2-lite"):
        runs = [
            pm.measure(model, hidden=a.hidden, tokens=a.tokens, device=a.device, samples=a.samples)
            for _ in range(2)
        ]
        m = runs[0]
        device, threads = m.device, m.threads
        drift = max(abs(getattr(runs[1], k) / getattr(runs[0], k) - 1) for k in ("f", "b", "w"))
        sim = simulate("dualpipe", 8, 20, m.chunk_times())
        ms = 1e3
        naive = (
            (m.b_input + naive_w(model, a.hidden, a.tokens, a.samples)) / m.b
            if device.startswith("cpu")
            else None
        )
        spread = max((m.spread[k]["p80"] - m.spread[k]["p20"]) / getattr(m, k) for k in ("f", "b", "w"))
        rows.append(
            [
                model,
                m.f * ms,
                m.b * ms,
                m.b_input * ms,
                m.w * ms,
                (m.b_input + m.w) / m.b,
                naive,
                spread,
                drift,
                sim.makespan * ms,
                sim.bubble_fraction,
            ]
        )
    report(
        "pipeline measure: one block, ms; spread (p80-p20)/median; drift between two runs; "
        "DualPipe PP 8, N 20",
        [
            "model",
            "F",
            "B",
            "B-input",
            "W",
            "(B-input+W)/B",
            "(B-input+naive W)/B",
            "spread",
            "run drift",
            "makespan",
            "bubble frac",
        ],
        rows,
        a.json,
        {
            "device": device,
            "threads": threads,
            "hidden": a.hidden,
            "tokens": a.tokens,
            "samples": a.samples,
            "sample_seconds": pm.SAMPLE_SECONDS,
        },
    )


if __name__ == "__main__":
    main()
