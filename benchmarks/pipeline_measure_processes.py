"""How far `pipeline measure` moves between runs: the baseline against its minimum sampling time and its
fresh process.

Runs N processes one after the other. Each measures the default block (`fireflyer.pipeline.measure`) three
ways: the baseline, in that process with the 20 timed steps alone (``sample_seconds=0``, about 1 s); in that
process for the default minimum sampling time (``SAMPLE_SECONDS``); and as `flyer pipeline measure` does,
for that time in a fresh process with the steady heap (``fresh_process=True``). A control, a 512 x 512
float32 matmul (compute in cache) timed on the same protocol for the same time, shows how far this machine
itself moves. For each it prints the range over all processes (max / min - 1) and the largest difference
between two consecutive processes, the figure behind "two runs agree within 10%".

    python benchmarks/pipeline_measure_processes.py [--runs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _util import report

KINDS = ("f", "b", "w")


def child() -> None:
    import torch

    from fireflyer import host
    from fireflyer.pipeline import measure
    from fireflyer.pipeline.measurement import SAMPLE_SECONDS, WARMUP_SECONDS
    from fireflyer.timing import time_fn

    short = measure(sample_seconds=0)
    here = measure()
    fresh = measure(fresh_process=True)
    a = torch.randn(512, 512)
    mm = time_fn(
        lambda: a @ a,
        samples=50,
        threads=host.threads_available(),
        warmup_seconds=WARMUP_SECONDS,
        sample_seconds=SAMPLE_SECONDS,
    ).median
    res = {f"{k}_20_samples": getattr(short, k) for k in KINDS}
    res |= {f"{k}_in_process": getattr(here, k) for k in KINDS}
    res |= {k: getattr(fresh, k) for k in KINDS}
    res |= {"samples": fresh.samples, "sample_seconds": fresh.sample_seconds, "matmul": mm}
    print(json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    runs = []
    for _ in range(a.runs):
        cmd = [sys.executable, __file__, "--child"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout))
    seconds = runs[0]["sample_seconds"]
    variants = [
        ("_20_samples", "20 samples, in process (baseline)"),
        ("_in_process", f"{seconds:g} s, in process"),
        ("", f"{seconds:g} s, fresh process (default)"),
    ]
    labels = [(f"{k}{suffix}", f"{k.upper()}, {text}") for suffix, text in variants for k in KINDS]
    rows = []
    for k, label in [*labels, ("matmul", f"512 x 512 matmul ({seconds:g} s)")]:
        v = [r[k] for r in runs]
        consecutive = max(abs(x / y - 1) for x, y in zip(v[1:], v)) if len(v) > 1 else 0.0
        rows.append([label, min(v) * 1e3, max(v) * 1e3, max(v) / min(v) - 1, consecutive])
    report(
        f"pipeline measure between {a.runs} processes (ms; range and worst consecutive pair as fractions)",
        ["kind", "min_ms", "max_ms", "range", "worst_consecutive"],
        rows,
        a.json,
        {"runs": runs} if a.json else None,
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()
