"""Two runs of `flyer pipeline measure` in a row: how far apart are F, B and W?

Runs the command exactly as a user does (``flyer pipeline measure --json``, plus any arguments after
``--``) N times one after the other and prints each run's medians, then per part the differences between
consecutive runs (the larger over the smaller, minus 1): their median, the worst, and how many pairs are
over 10%; and the range of all runs (max / min - 1), which shows how far the machine itself drifted.
``--against "ARGS"`` alternates those runs with runs given ARGS instead, so that two settings meet the same
drift of the machine, and reports each setting's consecutive runs.

    python benchmarks/pipeline_measure_repeat.py [--runs 12] [--json] [-- --threads 1]
    python benchmarks/pipeline_measure_repeat.py --runs 20 --against "--sample-seconds 5"
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys

from _util import apart, report

KINDS = ("f", "b", "b_input", "w")


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--against", metavar="ARGS", help="alternate with runs given these arguments instead")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    settings = {" ".join(extra) or "(default)": extra}
    if a.against is not None:
        settings[a.against or "(default)"] = shlex.split(a.against)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    for i in range(a.runs):
        for name, args in settings.items():
            cmd = [sys.executable, "-m", "fireflyer.cli", "pipeline", "measure", "--json", *args]
            m = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["measured"]
            runs[name].append({k: m[k] for k in KINDS})
            if not a.json:
                times = "  ".join(f"{k} {m[k] * 1e3:.3f} ms" for k in KINDS)
                print(f"run {i + 1:2d} {name}: {times}", flush=True)
    rows = []
    for name, rs in runs.items():
        for k in KINDS:
            v = [r[k] for r in rs]
            pairs = [apart(x, y) for x, y in zip(v, v[1:])] or [0.0]
            over = sum(p > 0.10 for p in pairs)
            part = k.upper().replace("_INPUT", "-input")
            rows.append(
                [
                    name,
                    part,
                    statistics.median(pairs),
                    max(pairs),
                    f"{over} of {len(v) - 1}",
                    max(v) / min(v) - 1,
                ]
            )
    report(
        f"flyer pipeline measure: {a.runs} runs of each setting, in a row (differences as fractions)",
        ["setting", "part", "median_pair", "worst_pair", "pairs_over_10%", "range"],
        rows,
        a.json,
        {"runs": runs} if a.json else None,
    )


if __name__ == "__main__":
    main()
