"""Does each Python process run the block at a speed of its own? If so, pooling the samples of several
processes (as pyperf does) would make two runs of `pipeline measure` agree more closely.

Runs N fresh processes one after the other (``fireflyer.timing.in_fresh_process``, the steady heap), each
timing F and W of the default block for S seconds after the 1 s warm-up, as `flyer pipeline measure`'s
process does. It prints, per part, how far the median of the first half of a process's samples is from its
second half (a few seconds apart, same process), and how far each process's median is from the one before
(about S + 3 s apart, another process); then the range of the process medians. A speed of each process's
own would show as process-to-process differences well above the half-to-half ones. Differences are the
larger median over the smaller, minus 1.

    python benchmarks/pipeline_measure_process_speed.py [--processes 40] [--seconds 7] [--json]
"""

from __future__ import annotations

import argparse
import statistics

from _util import apart, report

from fireflyer.pipeline.measurement import WARMUP_SECONDS, _sample, block_dims
from fireflyer.timing import WARMUP, in_fresh_process

KINDS = ("f", "w")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=7.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    dims = block_dims("deepseek-v3")
    dims.pop("model")
    share = {
        "device": "cpu",
        "dtype": None,
        "samples": 1,
        "warmup": WARMUP,
        "warmup_seconds": WARMUP_SECONDS,
        "sample_seconds": a.seconds,
        "threads": None,
        "seed": 0,
    }
    got = [in_fresh_process(_sample, {"dims": dims, **share}).timings for _ in range(a.processes)]
    runs = [{k: t.samples for k, t in timings.items()} for timings in got]
    rows = []
    for k in KINDS:
        halves = [
            (statistics.median(s[k][: len(s[k]) // 2]), statistics.median(s[k][len(s[k]) // 2 :]))
            for s in runs
        ]
        within = [apart(x, y) for x, y in halves]
        medians = [statistics.median(s[k]) for s in runs]
        across = [apart(x, y) for x, y in zip(medians, medians[1:])]
        rows.append(
            [
                f"{k.upper()}, within a process (half to half)",
                statistics.median(within),
                max(within),
                len(within),
            ]
        )
        rows.append([f"{k.upper()}, process to process", statistics.median(across), max(across), len(across)])
        rows.append(
            [f"{k.upper()}, range of the process medians", "", max(medians) / min(medians) - 1, len(medians)]
        )
    report(
        f"pipeline measure: {a.processes} processes of {a.seconds:g} s (differences as fractions)",
        ["what", "median", "worst", "pairs"],
        rows,
        a.json,
        {"medians_ms": {k: [statistics.median(s[k]) * 1e3 for s in runs] for k in KINDS}} if a.json else None,
    )


if __name__ == "__main__":
    main()
