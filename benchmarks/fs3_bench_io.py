"""The built-in I/O engine beside fio on the same jobs (issue: within 10% of fio's figures).

For each pattern, the same job (one file per job, libaio at the same queue depth, O_DIRECT, write files
fsynced at the end) runs through fio and through the core's engine, alternating which goes first,
`--repeat` times each;
rows show the medians and the ratio built-in / fio of the throughput (GiB/s for sequential patterns, IOPS
for random ones) and of p50 latency. Runs on the local disk under --path (default: the system temp dir).

    python benchmarks/fs3_bench_io.py [--path DIR] [--size 1GiB] [--jobs 4] [--iodepth 16] [--repeat 3]
        [--patterns seq-read,...] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from _util import report

from fireflyer.fs3 import bench
from fireflyer.io import parse_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default=tempfile.gettempdir())
    ap.add_argument("--size", default="1GiB")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--iodepth", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--patterns", default=",".join(bench.PATTERNS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if bench.fio_version() is None:
        raise SystemExit("fio is not installed (apt-get install fio): nothing to compare with")
    size = parse_size(args.size)
    rows = []
    for pattern in args.patterns.split(","):
        job = bench.IoJob(pattern=pattern, size=size, jobs=args.jobs, iodepth=args.iodepth)
        runs: dict[str, list[bench.IoReport]] = {"builtin": [], "fio": []}
        for i in range(args.repeat):
            for engine in ("fio", "builtin") if i % 2 == 0 else ("builtin", "fio"):
                runs[engine].append(bench.measure_io(args.path, job, engine=engine))
        seq = pattern.startswith("seq")

        def rate(rs: list[bench.IoReport], seq: bool = seq) -> float:
            return statistics.median(r.gib_s if seq else r.iops for r in rs)

        def p50(rs: list[bench.IoReport]) -> float:
            return statistics.median(r.latency.p50_us for r in rs)

        b, f = rate(runs["builtin"]), rate(runs["fio"])
        rows.append(
            [
                pattern,
                job.block,
                "GiB/s" if seq else "IOPS",
                round(f, 3) if seq else round(f),
                round(b, 3) if seq else round(b),
                round(b / f, 3),
                round(p50(runs["fio"]), 1),
                round(p50(runs["builtin"]), 1),
                round(p50(runs["builtin"]) / p50(runs["fio"]), 3),
            ]
        )
    report(
        f"fs3 bench io: built-in engine vs {bench.fio_version()} (size {args.size}, jobs {args.jobs}, "
        f"iodepth {args.iodepth}, O_DIRECT, median of {args.repeat}; load {os.getloadavg()[0]:.1f})",
        ["pattern", "block", "unit", "fio", "builtin", "ratio", "fio_p50_us", "builtin_p50_us", "p50_ratio"],
        rows,
        args.json,
        {"path": args.path, "target": "ratio within 0.90-1.10"},
    )


if __name__ == "__main__":
    main()
