"""`flyer trace analyze` speed and memory, in one run beside its baselines, on synthetic Kineto-style traces
with a known answer (written to a temporary directory, never kept).

Rows:
- ours: `flyer trace analyze FILE --json` end to end in a fresh process (interpreter start included), on a
  ~200 MB trace (plain and gzip); MB/s of JSON text and peak resident memory;
- baseline: a fresh Python process loading the file with orjson and computing the same unions in Python;
- 2 GB: ours on a ~2 GB trace under a 1 GiB address-space limit (setrlimit RLIMIT_AS, as `ulimit -v`);
- HTA: Holistic Trace Analysis (`--hta-python`, a Python where `hta` imports) loading the same 200 MB trace
  and DeepSeek's training trace: load time, peak memory and its overlap figure beside ours, and ours with
  HTA's own rule for communication (`^nccl.*Kernel`), which gives its figure back.

Every answer is checked against the generator's known answer. Targets (issue 12): >= 400 MB/s end to end,
>= 3x the baseline, <= 256 MiB peak on 200 MB, the 2 GB trace within 1 GiB with the same answer.

    python benchmarks/trace_analyze.py [--size-mb 200] [--big-gb 2] [--repeat 3] [--hta-python PY] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import report

from fireflyer.trace import synthetic
from fireflyer.trace.analysis import COMM_PATTERNS

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "profile-data-train.json"
FLYER = str(Path(sys.executable).parent / "flyer")
FIGURES = ("busy_us", "compute_us", "comm_us", "overlap_us")
HTA_RULE = r"^nccl.*Kernel"  # HTA's communication kernels (hta.utils.utils.NCCL_KERNEL_RE)

BASELINE = r"""
import re, sys, time, json
import orjson
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    doc = orjson.loads(f.read())
t1 = time.perf_counter()
comm = re.compile(sys.argv[2])
kinds = {}
spans = {"compute": [], "comm": [], "memory": []}
for e in doc["traceEvents"]:
    if e.get("ph") != "X":
        continue
    cat = e.get("cat")
    if cat == "kernel":
        name = e.get("name", "")
        kind = kinds.get(name)
        if kind is None:
            kind = kinds[name] = "comm" if comm.search(name) else "compute"
    elif cat in ("gpu_memcpy", "gpu_memset"):
        kind = "memory"
    else:
        continue
    spans[kind].append((e["ts"], e["ts"] + e["dur"]))

def union(items):
    items.sort()
    out = []
    for lo, hi in items:
        if hi <= lo:
            continue
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return out

def length(u):
    return sum(hi - lo for lo, hi in u)

def intersect(a, b):
    i = j = 0
    t = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            t += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return t

compute, comm_u = union(spans["compute"]), union(spans["comm"])
busy = union(spans["compute"] + spans["comm"] + spans["memory"])
out = {"busy_us": length(busy), "compute_us": length(compute), "comm_us": length(comm_u),
       "overlap_us": intersect(compute, comm_u), "load_s": t1 - t0, "compute_s": time.perf_counter() - t1}
print(json.dumps(out))
"""

HTA = r"""
import json, sys, time, logging
logging.disable(logging.CRITICAL)
t0 = time.perf_counter()
from hta.trace_analysis import TraceAnalysis
a = TraceAnalysis(trace_dir=sys.argv[1])
t1 = time.perf_counter()
overlap = a.get_comm_comp_overlap(visualize=False)
value = float(overlap["comp_comm_overlap_pctg"].iloc[0])
print(json.dumps({"load_s": t1 - t0, "overlap_pct": None if value != value else value}))
"""


def run(cmd: list[str], *, limit_bytes: int | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS bytes (its own, from wait4) and stdout of one fresh process."""

    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd[:4])}... failed ({proc.returncode}): {err.read().decode()[-2000:]}"
            )
        return wall, usage.ru_maxrss * 1024, out.read().decode()


def median_run(cmd: list[str], repeat: int, **kw) -> tuple[float, int, str]:
    runs = [run(cmd, **kw) for _ in range(repeat)]
    runs.sort(key=lambda r: r[0])
    wall, _, out = runs[len(runs) // 2]
    return wall, max(r[1] for r in runs), out


def ours(path: Path, repeat: int, *extra: str, **kw) -> tuple[float, int, dict]:
    wall, rss, out = median_run([FLYER, "trace", "analyze", str(path), "--json", *extra], repeat, **kw)
    return wall, rss, json.loads(out)["ranks"][0]


def check(figures: dict, expected: synthetic.Expected, what: str) -> None:
    for key in FIGURES:
        if figures[key] != getattr(expected, key):
            raise AssertionError(f"{what}: {key} = {figures[key]}, expected {getattr(expected, key)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=float, default=200)
    p.add_argument("--big-gb", type=float, default=2, help="0 skips the large trace")
    p.add_argument("--limit-gib", type=float, default=1.0, help="address-space limit for the large trace")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--hta-python", help="a Python where HolisticTraceAnalysis (hta) imports")
    p.add_argument("--tmp", default=None, help="directory for the generated traces (default: the system's)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    rows: list[list] = []
    extra: dict = {"load": os.getloadavg()[0], "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        (tmp / "one").mkdir()
        trace = tmp / "one" / "rank0.json"
        expected = synthetic.generate(trace, target_bytes=int(args.size_mb * 1e6), seed=7)
        mb = trace.stat().st_size / 1e6

        wall, rss, fig = ours(trace, args.repeat)
        check(fig, expected, "ours")
        rows.append(["ours (end to end)", round(mb), wall, mb / wall, rss / 2**20, 1.0])
        ours_wall = wall

        comm = "|".join(f"(?:{p})" for p in COMM_PATTERNS)
        b_wall, b_rss, b_out = median_run([sys.executable, "-c", BASELINE, str(trace), comm], args.repeat)
        base = json.loads(b_out)
        check(base, expected, "baseline")
        rows.append(
            [
                "orjson + Python (end to end)",
                round(mb),
                b_wall,
                mb / b_wall,
                b_rss / 2**20,
                b_wall / ours_wall,
            ]
        )
        extra["baseline_load_s"] = base["load_s"]
        extra["baseline_unions_s"] = base["compute_s"]

        gz = tmp / "rank0.json.gz"
        synthetic.generate(gz, target_bytes=int(args.size_mb * 1e6), seed=7)
        g_wall, g_rss, g_fig = ours(gz, args.repeat)
        check(g_fig, expected, "ours, gzip")
        rows.append(["ours, .json.gz input", round(mb), g_wall, mb / g_wall, g_rss / 2**20, b_wall / g_wall])

        if args.hta_python:
            for label, directory in (("synthetic", tmp / "one"), ("DeepSeek train", FIXTURE.parent)):
                if label == "DeepSeek train":
                    if not FIXTURE.exists():
                        continue
                    directory = tmp / "deepseek"
                    directory.mkdir()
                    (directory / "rank0.json").write_bytes(FIXTURE.read_bytes())
                h_wall, h_rss, h_out = run([args.hta_python, "-c", HTA, str(directory)])
                hta = json.loads(h_out)
                path = directory / "rank0.json"
                m_wall, _, mine = ours(path, args.repeat)
                _, _, hta_rule = ours(path, 1, "--comm-pattern", HTA_RULE)
                size = path.stat().st_size / 1e6
                rows.append([f"ours, {label}", round(size, 1), m_wall, size / m_wall, None, 1.0])
                rows.append(
                    [
                        f"HTA load, {label}",
                        round(size, 1),
                        hta["load_s"],
                        size / hta["load_s"],
                        h_rss / 2**20,
                        hta["load_s"] / m_wall,
                    ]
                )
                extra[f"hta_overlap_pct_{label}"] = hta["overlap_pct"]
                extra[f"ours_comm_hidden_pct_{label}"] = mine["comm_hidden_pct"]
                extra[f"ours_with_hta_rule_pct_{label}"] = hta_rule["comm_hidden_pct"]
                extra[f"ours_comm_kernels_{label}"] = mine["comm_kernels"]
                extra[f"ours_with_hta_rule_comm_kernels_{label}"] = hta_rule["comm_kernels"]
                extra[f"hta_total_s_{label}"] = h_wall

        if args.big_gb > 0:
            big = tmp / "big.json"
            trace.unlink()
            gz.unlink()
            expected_big = synthetic.generate(big, target_bytes=int(args.big_gb * 1e9), seed=7)
            gb = big.stat().st_size / 1e6
            limit = int(args.limit_gib * 2**30)
            w, r, f = ours(big, 1, limit_bytes=limit)
            check(f, expected_big, "ours, 2 GB")
            rows.append(
                [
                    f"ours, {args.big_gb:g} GB under {args.limit_gib:g} GiB",
                    round(gb),
                    w,
                    gb / w,
                    r / 2**20,
                    None,
                ]
            )
            extra["big_steps"] = expected_big.steps

    report(
        "flyer trace analyze: end-to-end time and peak memory (known answers checked)",
        ["run", "MB", "seconds", "MB/s", "peak MiB", "baseline/this"],
        rows,
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
