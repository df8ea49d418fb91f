"""The whole GPU suite in one go, for a machine with a CUDA GPU: which backends run (and their versions),
`flyer kernels bench --device cuda` on a suite (default: the anchors' shapes), the vendor libraries'
figures beside the anchors' published ones, and `flyer kernels compare` of the run with itself.

Published anchors (H800 SXM5): FlashMLA dense decoding up to about 3000 GB/s memory-bound and 580-660
TFLOPS compute-bound; DeepGEMM FP8 GEMMs up to about 1350-1550 TFLOPS.

    python benchmarks/kernels_gpu.py [--suite default] [--out kernels-gpu.json] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _util import report

ANCHORS = {
    ("mla", "memory-bound (s_q 1) GB/s"): "about 3000 (FlashMLA, H800)",
    ("mla", "compute-bound (s_q 2, h_q 128) TFLOP/s"): "580-660 (FlashMLA, H800)",
    ("gemm", "FP8 TFLOP/s"): "1350-1550 (DeepGEMM, H800)",
}


def _flyer(*args: str) -> subprocess.CompletedProcess:
    exe = str(Path(sys.executable).parent / "flyer")
    return subprocess.run([exe, *args], capture_output=True, text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="default")
    ap.add_argument("--out", default="kernels-gpu.json")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    listing = _flyer("kernels", "list", "--device", "cuda", "--json")
    if listing.returncode != 0:
        raise SystemExit(listing.stderr.strip())
    for b in json.loads(listing.stdout)["backends"]:
        state = "runs" if b["available"] else f"unavailable: {b['reason']}"
        print(
            f"{b['op']:5} {b['backend']:10} {b['version'] or '':10} {b['distribution'] or '':18} {state}",
            file=sys.stderr,
        )
    run = _flyer("kernels", "bench", "--device", "cuda", "--suite", args.suite, "--out", args.out, "--json")
    if run.returncode not in (0, 1):
        raise SystemExit(run.stderr.strip())
    data = json.loads(run.stdout)
    rows = []
    for r in data["results"]:
        s = r["shape"]
        rows.append(
            [r["op"], r["backend"], " ".join(f"{k}={v}" for k, v in s.items() if v not in (None, False, 0)),
             r["median_us"], r["tflops"], r["gbps"], r["pct_peak_flops"], r["pct_peak_bw"], r["correct"]]
        )  # fmt: skip
    best = {}
    for r in data["results"]:
        if not r["correct"] or r["median_us"] is None:
            continue
        s, b = r["shape"], r["backend"]
        if r["op"] == "mla" and s.get("mode") == "dense":
            if s["s_q"] == 1:
                k = ("mla", "memory-bound (s_q 1) GB/s")
                best[(b, *k)] = max(best.get((b, *k), 0), r["gbps"])
            if s["s_q"] == 2 and s["h_q"] == 128:
                k = ("mla", "compute-bound (s_q 2, h_q 128) TFLOP/s")
                best[(b, *k)] = max(best.get((b, *k), 0), r["tflops"])
        if r["op"] == "gemm":
            best[(b, "gemm", "FP8 TFLOP/s")] = max(best.get((b, "gemm", "FP8 TFLOP/s"), 0), r["tflops"])
    cmp = _flyer("kernels", "compare", args.out, args.out, "--json")
    extra = {
        "bench exit code": run.returncode,
        "device": data["env"]["device_described"],
        "compare with itself exit code (want 0)": cmp.returncode,
        "load average": os.getloadavg()[0],
    }
    for (b, op, what), v in sorted(best.items()):
        extra[f"best {b} {op} {what} (published: {ANCHORS[(op, what)]})"] = v
    report(
        f"flyer kernels bench --device cuda --suite {args.suite}",
        ["op", "backend", "shape", "median us", "TFLOP/s", "GB/s", "% FLOPs", "% BW", "correct"],
        rows,
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
