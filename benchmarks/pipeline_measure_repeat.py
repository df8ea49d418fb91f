"""Two runs of `flyer pipeline measure` in a row: how far apart are F, B and W?

Runs the command exactly as a user does (``flyer pipeline measure --json``, plus any arguments after
``--``) N times one after the other and prints each run's medians, then per part the differences between
consecutive runs (the larger over the smaller, minus 1): their median, the worst, and how many pairs are
over 10%; and the range of all runs (max / min - 1), which shows how far the machine itself drifted.

    python benchmarks/pipeline_measure_repeat.py [--runs 12] [--json] [-- --threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _util import report

KINDS = ("f", "b", "b_input", "w")


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    cmd = [sys.executable, "-m", "fireflyer.cli", "pipeline", "measure", "--json", *extra]
    runs = []
    for i in range(a.runs):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        m = json.loads(out.stdout)["measured"]
        runs.append({k: m[k] for k in KINDS})
        if not a.json:
            print(f"run {i + 1:2d}: " + "  ".join(f"{k} {m[k] * 1e3:.3f} ms" for k in KINDS), flush=True)
    rows = []
    for k in KINDS:
        v = [r[k] for r in runs]
        pairs = [max(x, y) / min(x, y) - 1 for x, y in zip(v, v[1:])]
        rows.append(
            [
                k.upper().replace("_INPUT", "-input"),
                statistics.median(pairs),
                max(pairs),
                f"{sum(p > 0.10 for p in pairs)} of {len(pairs)}",
                max(v) / min(v) - 1,
            ]
        )
    report(
        f"{' '.join(['flyer pipeline measure', *extra])}: {a.runs} runs in a row (differences as fractions)",
        ["part", "median_pair", "worst_pair", "pairs_over_10%", "range"],
        rows,
        a.json,
        {"runs": runs} if a.json else None,
    )


if __name__ == "__main__":
    main()
