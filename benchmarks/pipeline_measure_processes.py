"""How far `pipeline measure` moves between separate processes, against how far this machine itself moves.

Runs N fresh processes one after the other. Each measures the default block (`fireflyer.pipeline.measure`,
as `flyer pipeline measure` does) and then, in the same process, two controls on the same timing protocol:
a 512 x 512 float32 matmul (compute in cache) and a pure-Python loop (one core, no memory traffic). For F,
B, W and each control it prints the range over all processes (max / min - 1) and the largest difference
between two consecutive processes: when the controls move as much as the block, the spread is the
machine's, not the measurement's.

    python benchmarks/pipeline_measure_processes.py [--runs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _util import report

KINDS = ("f", "b", "w", "matmul", "python_loop")


def child() -> None:
    import torch

    from fireflyer import host
    from fireflyer.pipeline import measure
    from fireflyer.timing import time_fn

    m = measure()
    a = torch.randn(512, 512)
    threads = host.threads_available()
    mm = time_fn(lambda: a @ a, samples=50, warmup=10, threads=threads, warmup_seconds=0.5).median

    def loop() -> None:
        s = 0
        for i in range(200_000):
            s += i

    py = time_fn(loop, samples=20, warmup=2).median
    print(json.dumps({"f": m.f, "b": m.b, "w": m.w, "matmul": mm, "python_loop": py}))


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
    rows = []
    for k in KINDS:
        v = [r[k] for r in runs]
        consecutive = max(abs(x / y - 1) for x, y in zip(v[1:], v)) if len(v) > 1 else 0.0
        rows.append([k, min(v) * 1e3, max(v) * 1e3, max(v) / min(v) - 1, consecutive])
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
