"""The MQA-aware MLA reference against the naive reference that repeats the KV across heads, same run.

FlashMLA's decoding shape b = 8, s_k = 4096, h_q = 128, s_q = 1, d = 576 / dv = 512, one KV head, fp32 on
CPU (target: the MQA-aware reference at least 40x faster). Both are timed by the shared protocol
(``fireflyer.timing.time_fn``, threads fixed): the reference with 30 samples, the naive one, which takes
seconds a call, with 5. Their outputs are checked against each other with FlashMLA's tolerances.

    python benchmarks/kernels_mla.py [--b 8] [--s-k 4096] [--h-q 128] [--threads N] [--json]

On a machine whose cores are shared with other work, one thread per implementation gives the steadier
ratio (two threads wait on each other at every parallel region while the other core is busy).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from _util import report

from fireflyer import host
from fireflyer.kernels import MlaCase, mla
from fireflyer.timing import time_fn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--b", type=int, default=8)
    ap.add_argument("--s-k", type=int, default=4096)
    ap.add_argument("--h-q", type=int, default=128)
    ap.add_argument("--naive-samples", type=int, default=5)
    ap.add_argument("--threads", type=int, default=host.threads_available(), help="default: all available")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    threads = args.threads
    case = MlaCase(b=args.b, s_k=args.s_k, h_q=args.h_q)
    inp = mla.make_inputs(case)
    t0 = time.perf_counter()
    with torch.inference_mode():
        ref = mla.reference(inp)
        naive = mla.repeat_kv_reference(inp, dtype=torch.float32)
        agree = mla.check(ref, naive, case)
        fast = time_fn(lambda: mla.reference(inp), threads=threads)
        slow = time_fn(
            lambda: mla.repeat_kv_reference(inp, dtype=torch.float32),
            threads=threads,
            warmup=1,
            samples=args.naive_samples,
        )
    cost = inp.cost()
    rows = [
        [
            "MQA-aware reference",
            fast.median * 1e3,
            fast.p20 * 1e3,
            fast.p80 * 1e3,
            cost.flops / fast.median / 1e9,
        ],
        [
            "naive (KV repeated per head)",
            slow.median * 1e3,
            slow.p20 * 1e3,
            slow.p80 * 1e3,
            cost.flops / slow.median / 1e9,
        ],
    ]
    report(
        f"MLA decoding b={args.b} s_k={args.s_k} h_q={args.h_q} s_q=1 on CPU ({threads} threads)",
        ["implementation", "median ms", "p20 ms", "p80 ms", "GFLOP/s"],
        rows,
        args.json,
        {
            "speedup (target >= 40x)": slow.median / fast.median,
            "outputs agree (FlashMLA tolerances)": agree.correct,
            "cos_diff": agree.error_metric,
            "load average": os.getloadavg()[0],
            "wall seconds": time.perf_counter() - t0,
        },
    )


if __name__ == "__main__":
    main()
