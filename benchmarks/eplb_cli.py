"""Wall time of `flyer eplb rebalance` on a DeepSeek-V3-sized plan, interpreter start included, against a
bare interpreter start (`python -c pass`) in the same run. Target: <= 1 s.

Each run starts from the same plan (restored before it, untimed) and new loads that make it replace
the plan, so every timed run does the whole job: lock, read, evaluate, plan, atomic write.

    python benchmarks/eplb_cli.py [--repeat 7] [--layout prefill|decode] [--json]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _util import report

from fireflyer import eplb

LAYOUTS = {"prefill": (288, 8, 4, 32), "decode": (288, 8, 18, 144)}


def wall(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t0, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--layout", choices=sorted(LAYOUTS), default="prefill")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    flyer = str(Path(sys.executable).parent / "flyer")
    layout = LAYOUTS[args.layout]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        w = eplb.sample_load().astype(np.float32)
        rng = np.random.default_rng(1)
        plan0 = d / "plan0.json"
        eplb.write_plan(eplb.plan(w, *layout), plan0)
        load = d / "load.npy"
        np.save(load, (w * rng.lognormal(0, 0.3, w.shape)).astype(np.float32))
        cur = d / "plan.json"
        times, base, replaced = [], [], 0
        for _ in range(args.repeat):
            shutil.copy(plan0, cur)
            t, r = wall(
                [
                    flyer,
                    "eplb",
                    "rebalance",
                    "--load",
                    str(load),
                    "--current",
                    str(cur),
                    "--min-gain",
                    "0",
                    "--json",
                ]
            )
            assert r.returncode == 0, r.stderr
            replaced += '"replaced": true' in r.stdout
            times.append(t)
            base.append(wall([sys.executable, "-c", "pass"])[0])
    t_med, b_med = statistics.median(times), statistics.median(base)
    rows = [
        [f"flyer eplb rebalance ({args.layout}, 58x256, 288 slots)", t_med * 1e3, 1000.0, t_med / b_med],
        ["python -c pass (baseline)", b_med * 1e3, None, 1.0],
    ]
    report(
        "eplb rebalance wall time, interpreter start included (median ms; ratio = this / bare python)",
        ["command", "median_ms", "target_ms", "ratio"],
        rows,
        args.json,
        {"runs": args.repeat, "runs_that_replaced": replaced},
    )


if __name__ == "__main__":
    main()
