"""Wall time of `flyer profiles detect` (default and --quick), interpreter start included.

The issue's budget on 2 cores: default within 20 s, --quick within 3 s.

    python benchmarks/profiles_detect.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time

from _util import report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    flyer = shutil.which("flyer") or "flyer"
    rows = []
    for label, extra, budget in (("default", [], 20.0), ("--quick", ["--quick"], 3.0)):
        walls, gbps, gflops = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = subprocess.run(
                [flyer, "profiles", "detect", "--json", *extra], check=True, capture_output=True, text=True
            ).stdout
            walls.append(time.perf_counter() - t0)
            doc = json.loads(out)
            gbps.append(doc["hbm_gbps"])
            gflops.append(doc["peak_tflops"]["fp32"] * 1000)
        rows.append(
            [
                label,
                round(statistics.median(walls), 2),
                budget,
                round(statistics.median(gbps), 1),
                round(statistics.median(gflops), 1),
            ]
        )
    report(
        f"flyer profiles detect, median of {args.repeat}",
        ["mode", "wall s", "budget s", "triad GB/s", "FP32 GFLOP/s"],
        rows,
        args.json,
    )


if __name__ == "__main__":
    main()
