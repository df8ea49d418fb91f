"""`flyer fs3 bench sort` of 1 GiB end to end, and the time the tool adds around Smallpond.

Two processes are timed from start to exit, alternating, `--repeat` times each:
- flyer: `flyer fs3 bench sort PATH --size SIZE --json` (checks, Ray, generation, sort, validation, cleanup);
- bare: the same generation and sort written directly against Ray and Smallpond in this script (same local
  Ray options, same partitions, same Parquet settings), with no checks, no validation and no cleanup
  beyond removing its directory.
The tool's own time is read from the same flyer runs (wall time less the Ray and Smallpond phases it
reports), with the validation (reading input and output back) apart; flyer minus bare is shown too, but
carries the run-to-run spread of the Smallpond job (seconds on a busy 2-core machine).

    python benchmarks/fs3_bench_sort.py [--path DIR] [--size 1GiB] [--repeat 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import report

from fireflyer.io import parse_size


def bare(path: str, size: int, partitions: int) -> None:
    """The same job as `flyer fs3 bench sort`, straight on Ray and Smallpond."""
    import functools
    import logging

    import ray
    import smallpond

    from fireflyer.fs3.bench import records

    run = Path(tempfile.mkdtemp(prefix=".bare-sort-", dir=path))
    temp = tempfile.mkdtemp(prefix="bare-ray-")
    try:
        ray.init(
            address="local",
            num_cpus=len(os.sched_getaffinity(0)),
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            _temp_dir=temp,
        )
        cpus = int(ray.cluster_resources()["CPU"])
        sp = smallpond.init(
            job_name="bare-sort",
            data_root=str(run / "smallpond"),
            ray_address=ray.get_runtime_context().gcs_address,
            memory_allocator="system",
        )
        plain = {"parquet_compression": None, "parquet_compression_level": None}
        spans = records.ranges(size // 100, 1 << 20)
        gen = functools.partial(records.generate_ranges, seed=0, partitions=partitions)
        sp.from_arrow(spans).repartition(min(len(spans), cpus), by_rows=True).map_batches(
            gen, batch_size=1, **plain
        ).write_parquet(str(run / "input"))
        sp.read_parquet(str(run / "input" / "*.parquet")).repartition(
            partitions, by="partition", **plain
        ).partial_sort(by="key", per_thread_output=False, **plain).write_parquet(str(run / "output"))
        sp.shutdown()
        ray.shutdown()
    finally:
        shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(temp, ignore_errors=True)


def timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return wall, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default=tempfile.gettempdir())
    ap.add_argument("--size", default="1GiB")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bare", nargs=3, metavar=("PATH", "BYTES", "PARTITIONS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare:
        bare(args.bare[0], int(args.bare[1]), int(args.bare[2]))
        return
    size = parse_size(args.size)
    flyer = str(Path(sys.executable).parent / "flyer")
    walls: dict[str, list[float]] = {"flyer": [], "bare": []}
    results = []
    for i in range(args.repeat):
        order = ("flyer", "bare") if i % 2 == 0 else ("bare", "flyer")
        for which in order:
            if which == "flyer":
                wall, out = timed([flyer, "fs3", "bench", "sort", args.path, "--size", str(size), "--json"])
                results.append(json.loads(out))
            else:
                parts = results[-1]["partitions"] if results else max(len(os.sched_getaffinity(0)), 4)
                wall, _ = timed([sys.executable, __file__, "--bare", args.path, str(size), str(parts)])
            walls[which].append(wall)
    med = {k: statistics.median(v) for k, v in walls.items()}
    phases = {k: statistics.median(r["seconds"][k] for r in results) for k in results[0]["seconds"]}
    smallpond = ("ray_start", "smallpond_start", "generate", "sort", "shutdown")
    # The tool's own time, from the same runs: the process's wall time less the Ray and Smallpond phases.
    own = statistics.median(
        w - sum(r["seconds"][k] for k in smallpond) for w, r in zip(walls["flyer"], results)
    )
    last = results[-1]
    rows = [
        ["flyer fs3 bench sort (process)", round(med["flyer"], 2)],
        [
            "  in Ray and Smallpond (start, generate, sort, shutdown)",
            round(sum(phases[k] for k in smallpond), 2),
        ],
        ["  the tool's own time (process less the above)", round(own, 2)],
        ["    of which validation", round(phases["validate"], 2)],
        ["    of which the rest (start-up, checks, cleanup)", round(own - phases["validate"], 2)],
        ["bare Ray + Smallpond (process)", round(med["bare"], 2)],
        ["flyer - bare", round(med["flyer"] - med["bare"], 2)],
        *[[f"flyer phase: {k}", round(v, 2)] for k, v in phases.items()],
    ]
    report(
        f"fs3 bench sort: {args.size} ({last['records']:,} records, {last['partitions']} partitions) under "
        f"{args.path}, median of {args.repeat}; load {os.getloadavg()[0]:.1f}",
        ["what", "seconds"],
        rows,
        args.json,
        {
            "sort_gib_s": statistics.median(r["gib_s"] for r in results),
            "share_of_published_per_node": statistics.median(r["share"] for r in results),
            "validation_ok": all(r["validation"]["ok"] for r in results),
            "versions": last["versions"],
        },
    )


if __name__ == "__main__":
    main()
