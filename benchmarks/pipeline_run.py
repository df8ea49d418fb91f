"""`flyer pipeline run` end to end: wall time of the installed command (interpreter start, spawning the
ranks, the step, the single-process reference), whether every rank ran the generated op order, and the
simulated (core simulator fed the measured median chunk times) beside the measured makespan and bubble.

Target: `flyer pipeline run --schedule dualpipe --ranks 4 --microbatches 8` <= 60 s.

    python benchmarks/pipeline_run.py [--repeat 3] [--schedule dualpipe] [--ranks 4] [--microbatches 8]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _util import report


def flyer() -> str:
    exe = Path(sys.executable).parent / "flyer"
    return (
        str(exe)
        if exe.exists()
        else (shutil.which("flyer") or sys.exit("install fireflyer first: pip install ."))
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--schedule", default="dualpipe")
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--microbatches", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cmd = [
        flyer(),
        "pipeline",
        "run",
        "--schedule",
        args.schedule,
        "--ranks",
        str(args.ranks),
        "--microbatches",
        str(args.microbatches),
        "--json",
    ]
    walls, docs = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if res.returncode != 0:
            sys.exit(f"{' '.join(cmd[1:])} exited {res.returncode}: {res.stderr.strip()}")
        docs.append(json.loads(res.stdout))
    mid = sorted(range(len(walls)), key=walls.__getitem__)[len(walls) // 2]
    d = docs[mid]
    sim, meas = d["simulated"], d["measured"]
    rows = [
        ["makespan_ms", sim["makespan"] * 1e3, meas["makespan"] * 1e3],
        ["bubble_ms", sim["bubble"] * 1e3, meas["bubble"] * 1e3],
        ["bubble_fraction", sim["bubble_fraction"], meas["bubble_fraction"]],
    ]
    report(
        f"flyer pipeline run -s {args.schedule} -p {args.ranks} -n {args.microbatches} "
        f"({d['backend']}; the median-wall run of {args.repeat})",
        ["metric", "simulated", "measured"],
        rows,
        args.json,
        {
            "wall_s_median": statistics.median(walls),
            "wall_s_all": [round(w, 3) for w in walls],
            "wall_target_s": 60.0,
            "p2p_latency_ms": d["p2p_latency"] * 1e3,
            "op_order_matches_every_rank_every_run": all(x["op_order_matches"] for x in docs),
            "max_cosine_difference": f"{max(x['max_cosine_difference'] for x in docs):.3g}",
            "loss_equals_reference": all(x["loss"] == x["reference_loss"] for x in docs),
        },
    )


if __name__ == "__main__":
    main()
