"""How long `pipeline measure` must sample for two runs in a row to agree: its minimum sampling time.

In one process, runs `fireflyer.pipeline.measure` on the default block round after round; each round
measures once per sampling time (``sample_seconds`` 0, i.e. the 20 timed steps alone, then 2, 5 and 10 s),
so every length sees the same drift of the machine. For F, B and W it prints, per length, the largest
difference between the same length's results in consecutive rounds, how many consecutive pairs differ by
more than 10%, and the range over all rounds. The baseline is the row for 0 s.

    python benchmarks/pipeline_measure_windows.py [--rounds 6] [--json]
"""

from __future__ import annotations

import argparse

from _util import report

from fireflyer.pipeline import measure

LENGTHS = (0.0, 2.0, 5.0, 10.0)
KINDS = ("f", "b", "w")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    runs: dict[float, list] = {s: [] for s in LENGTHS}
    for _ in range(a.rounds):
        for s in LENGTHS:
            runs[s].append(measure(sample_seconds=s))
    rows = []
    for s in LENGTHS:
        row: list = [s, round(sum(m.samples for m in runs[s]) / a.rounds)]
        for k in KINDS:
            v = [getattr(m, k) for m in runs[s]]
            pairs = [abs(x / y - 1) for x, y in zip(v[1:], v)]
            row += [max(pairs), f"{sum(p > 0.1 for p in pairs)}/{len(pairs)}", max(v) / min(v) - 1]
        rows.append(row)
    cols = ["sample_seconds", "samples"]
    for k in KINDS:
        cols += [f"{k}_worst_pair", f"{k}_pairs_over_10%", f"{k}_range"]
    report(
        f"pipeline measure: consecutive rounds in one process by minimum sampling time ({a.rounds} rounds)",
        cols,
        rows,
        a.json,
        {"runs": {str(s): list(ms) for s, ms in runs.items()}} if a.json else None,
    )


if __name__ == "__main__":
    main()
