"""`flyer trace capture` overhead: a 2-rank gloo torchrun training job (DDP, an optimizer, no change to its
code) run plainly and under capture, in the same run; the time capture adds, and the profiler steps each
rank's trace holds (issue 12: a few seconds at most, exactly active x repeat steps per rank).

    python benchmarks/trace_capture.py [--steps 40] [--active 3] [--repeat 1] [--runs 3] [--host-metrics]
                                       [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _util import report

FLYER = str(Path(sys.executable).parent / "flyer")

JOB = textwrap.dedent(
    """
    import sys
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    torch.manual_seed(dist.get_rank())
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(512, 1024), torch.nn.GELU(), torch.nn.Linear(1024, 512)))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(int(sys.argv[1])):
        model(torch.randn(64, 512)).square().mean().backward()
        opt.step()
        opt.zero_grad()
    dist.destroy_process_group()
    """
)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=40, help="optimizer steps of the job")
    p.add_argument("--active", type=int, default=3)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--runs", type=int, default=3, help="runs of each, alternating; medians reported")
    p.add_argument("--host-metrics", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        job = tmp / "train.py"
        job.write_text(JOB)
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        plain, captured, steps, sizes = [], [], set(), []
        for i in range(args.runs):
            plain.append(timed([*launch, str(job), str(args.steps)]))
            out = tmp / f"traces{i}"
            cmd = [
                FLYER,
                "trace",
                "capture",
                "--active",
                str(args.active),
                "--repeat",
                str(args.repeat),
                "--out",
                str(out),
                "--json",
                *(["--host-metrics"] if args.host_metrics else []),
            ]
            start = time.perf_counter()
            res = subprocess.run(
                [*cmd, "--", *launch, str(job), str(args.steps)], capture_output=True, text=True
            )
            captured.append(time.perf_counter() - start)
            if res.returncode != 0:
                raise RuntimeError(f"capture failed ({res.returncode}): {res.stderr[-2000:]}")
            data = json.loads(res.stdout)
            per_rank: dict = {}
            for t in data["traces"]:
                per_rank[t["rank"]] = per_rank.get(t["rank"], 0) + t["steps"]
                sizes.append(t["bytes"])
            steps.add(", ".join(f"rank {r}: {n}" for r, n in sorted(per_rank.items())))
    p_med, c_med = statistics.median(plain), statistics.median(captured)
    report(
        "flyer trace capture: a 2-rank gloo torchrun job, plain and captured (medians)",
        ["run", "seconds", "added s", "steps per rank"],
        [
            ["plain torchrun", p_med, None, None],
            ["under flyer trace capture", c_med, c_med - p_med, " | ".join(sorted(steps))],
        ],
        args.json,
        {
            "expected_steps_per_rank": args.active * args.repeat,
            "job_steps": args.steps,
            "trace_mb_mean": statistics.mean(sizes) / 1e6 if sizes else 0,
            "host_metrics": args.host_metrics,
            "load": os.getloadavg()[0],
        },
    )


if __name__ == "__main__":
    main()
