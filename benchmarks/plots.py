"""Every ``--plot`` picture at the largest sizes its inputs allow: the median seconds to draw it and write
it as PNG and as SVG, beside the issue's target (issue 25: each written in under a second).

Sizes: eplb 4096 MoE layers x 256 GPUs (evaluate; plan --previous and rebalance draw two heatmaps), fs3
plan chains on 1000 nodes, kernels bench on the full suite and compare of it, trace analyze on 512 ranks,
pipeline sweep of every schedule at PP 4..32 x N 64..1024, inference estimate with its frontier.

    python benchmarks/plots.py [--repeat 5] [--only eplb] [--write DIR] [--json]
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from _util import report, zipf_loads

from fireflyer.commands.views import (
    eplb_plot,
    fs3_plot,
    inference_plot,
    kernels_plot,
    pipeline_plot,
    plotting,
    trace_plot,
)

TARGET_S = 1.0
LAYERS, GPUS, NODES, EXPERTS = 4096, 256, 32, 256


def _eplb() -> dict[str, tuple[Callable[[Any], Any], Any]]:
    from fireflyer import eplb

    loads = zipf_loads(LAYERS, EXPERTS, 1.0, seed=0, noise=0.3)
    old = eplb.plan(zipf_loads(LAYERS, EXPERTS, 1.0, seed=1), 512, 8, NODES, GPUS, policy="deepseek")
    new = eplb.plan(loads, 512, 8, NODES, GPUS, policy="deepseek")
    was, now = eplb.evaluate(old, loads), eplb.evaluate(new, loads)
    res = eplb.RebalanceResult(
        replaced=True, reason="gain", before=was.overall, after=now.overall, gain=0.1, copies=1, bytes=1,
        plan="plan.json", gpu_load_before=was.gpu_load, gpu_load=now.gpu_load,
    )  # fmt: skip
    return {
        f"eplb evaluate {LAYERS}x{GPUS}": (eplb_plot.plot_evaluate, now),
        f"eplb rebalance {LAYERS}x{GPUS} (two)": (eplb_plot.plot_rebalance, res),
    }


def _fs3() -> dict[str, tuple[Callable[[Any], Any], Any]]:
    from fireflyer.fs3.planning import plan_chains

    r = plan_chains(nodes=1000, min_targets_per_disk=12)
    return {"fs3 plan chains 1000 nodes": (fs3_plot.plot_chains, r)}


def _kernels() -> dict[str, tuple[Callable[[Any], Any], Any]]:
    from fireflyer.kernels import results, suites

    suite = suites.load("default")
    rows = []
    rng = random.Random(0)
    for case in suite.cases:
        for backend in ("reference", "torch"):
            t = 10.0 + 1000 * rng.random()
            flops = 0.0 if case.op == "ep" else 1e9 * rng.random() + 1e6
            rows.append(
                {
                    "op": case.op, "backend": backend, "device": "cpu", "shape": case.shape(),
                    "median_us": t, "p20_us": t, "p80_us": t, "flops": flops, "bytes": 1e7,
                    "tflops": flops / t / 1e6, "gbps": 1e7 / t / 1e3, "pct_peak_flops": 1.0,
                    "pct_peak_bw": 1.0, "correct": rng.random() > 0.1, "error_metric": 0.0,
                    "error_kind": "calc_diff",
                }
            )  # fmt: skip
    roof = {"profile": "h800", "peak_tflops": {"bf16": 989.0, "fp8": 1979.0}, "memory_gbps": 3350.0,
            "link_gbps": 50.0, "link": "nvlink", "source": "NVIDIA", "enforced": False}  # fmt: skip
    doc = {"schema": results.SCHEMA, "suite": {"name": suite.name}, "env": {}, "roof": roof, "results": rows}
    base = msgspec.convert(doc, results.Report)
    slower = [dict(r, median_us=r["median_us"] * (1.3 if i % 3 == 0 else 0.9)) for i, r in enumerate(rows)]
    cur = msgspec.convert(dict(doc, results=slower), results.Report)
    cmp = results.compare(base, cur, threshold_pct=5).report()
    return {
        f"kernels bench {len(rows)} results": (kernels_plot.plot_bench, base),
        f"kernels compare {len(cmp.rows)} rows": (kernels_plot.plot_compare, cmp),
    }


def _trace() -> dict[str, tuple[Callable[[Any], Any], Any]]:
    from fireflyer.trace import analyze, synthetic
    from fireflyer.trace.analysis import summarize

    d = Path(tempfile.mkdtemp()) / "t"
    synthetic.generate_ranks(d, 2, steps=4)
    a = analyze([d])
    rng = random.Random(0)
    base, ranks = a.ranks[0], []
    for r in range(512):
        extra = base.compute_us * (0.5 if r == 300 else 0.04 * rng.random())
        more = {"compute_us": base.compute_us + extra, "busy_us": base.busy_us + extra}
        more["span_us"] = base.span_us + extra
        ranks.append(msgspec.structs.replace(base, rank=r, file=f"rank{r}.json", **more))
    many = msgspec.structs.replace(a, ranks=ranks, summary=summarize(ranks, 512))
    return {"trace analyze 512 ranks": (trace_plot.analyzed, many)}


def _pipeline() -> dict[str, tuple[Callable[[Any], Any], Any]]:
    from fireflyer import pipeline as lib

    rows = lib.sweep(lib.sweep_names("all"), ranks=[4, 8, 16, 32], microbatches=list(range(64, 1025, 64)),
                     f=[1], b=[2], w=[1])  # fmt: skip
    return {f"pipeline sweep {len(rows)} cases": (pipeline_plot.swept, rows)}


def _inference() -> dict[str, tuple[Callable[[Any], Any], Any]]:
    from fireflyer import inference

    e = inference.estimate("deepseek-v3-decode", frontier=True)
    return {"inference estimate + frontier": (inference_plot.plot_estimate, e)}


GROUPS = {"eplb": _eplb, "fs3": _fs3, "kernels": _kernels, "trace": _trace, "pipeline": _pipeline,
          "inference": _inference}  # fmt: skip


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _write(draw: Callable[[Any], Any], record: Any, fmt: plotting.Format) -> bytes:
    return plotting.render(draw(record), fmt)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=sorted(GROUPS), action="append")
    ap.add_argument("--write", type=Path, metavar="DIR", help="also write each picture as PNG into DIR")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for group in a.only or GROUPS:
        for name, (draw, record) in GROUPS[group]().items():
            draw(record)  # NOTE: warm-up: matplotlib's imports and font cache are not the picture's cost
            row: list = [name, _median(functools.partial(draw, record), a.repeat)]
            for fmt in (plotting.Format.PNG, plotting.Format.SVG):
                row.append(_median(functools.partial(_write, draw, record, fmt), a.repeat))
            row.append("ok" if max(row[2:]) < TARGET_S else "OVER")
            rows.append(row)
            if a.write:
                a.write.mkdir(parents=True, exist_ok=True)
                slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
                plotting.save(draw(record), a.write / f"{slug}.png")
            print(f"  {name}: done", file=sys.stderr)
    report(
        f"--plot pictures at the largest sizes (median of {a.repeat}, seconds; target < {TARGET_S:g} s)",
        ["picture", "draw s", "draw+png s", "draw+svg s", "target"],
        rows,
        a.json,
    )


if __name__ == "__main__":
    main()
