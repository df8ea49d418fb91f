"""Wall time of `flyer fs3 deploy` to many loopback hosts: the first deploy, a no-change rerun, and (with
--faults) a deploy through three injected faults followed by the rerun that finishes it; and `fs3 status`
of those hosts at 80 columns (its widest line).

Each host is a loopback address (127.0.0.1 ...) with its own root directory, all served by one OpenSSH sshd
(tests/fs3/fleet.py, as the tests make them); the 3FS executables are the tests' stand-ins (services that
register and sleep, an admin_cli that keeps state), so the figures are deploy's own work: SSH round trips,
checksums, uploads, step markers, service starts (and the 1 s check that each started service still runs).
The faults (--faults), each on its own storage host: its SSH session killed right after the storage
service's start command ran, a full disk (a real 8 KiB tmpfs as its root), a service stand-in that exits 1.
--slow S makes one storage host answer every command S seconds late (a slow or distant host; not a
failure); --compare-parallel times the no-change rerun at other --parallel values on the same hosts.
Needs root and sshd, as the deploy tests do. The baseline is the no-change rerun on the same hosts.

    python benchmarks/fs3_deploy.py [--hosts 10 100] [--parallel 32] [--compare-parallel 8 100] [--faults]
        [--slow SECONDS] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _util import report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests package

from tests.conftest import run_flyer  # noqa: E402
from tests.fs3 import fleet, sshd  # noqa: E402


def _deploy(f: fleet.Fleet, parallel: int) -> tuple[float, dict, int]:
    t = time.perf_counter()
    res = run_flyer(
        "fs3", "deploy", str(f.path), *f.flyer_args(), "--parallel", str(parallel), "--json", timeout=1800
    )
    seconds = time.perf_counter() - t
    if res.returncode not in (0, 1) or not res.stdout:
        sys.exit(f"deploy failed unexpectedly (exit {res.returncode}): {res.stderr[-2000:]}")
    return seconds, json.loads(res.stdout), res.returncode


def one(hosts: int, parallel: int, mode: str, slow: float, compare: list[int]) -> list[list]:
    """The rows of one fleet of ``hosts``: ``mode`` clean (plus status and the no-change rerun at each
    --parallel of ``compare``), faults (three, then the fix) or slow (one host ``slow`` s late a command)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="fs3-deploy-") as tmp:
        server = fleet.serve(Path(tmp), hosts)
        f = fleet.make(Path(tmp), server, hosts)
        try:
            hit = ("storage2", "storage3", "storage4")
            if mode == "faults":
                f.fill_disk(hit[1])
                f.kill_session(hit[0], "setsid nohup")
                f.fail_start(hit[2])
            if mode == "slow":
                f.slow_down(hit[0], slow)
            fleet.prepare_disks(f)
            s, r, code = _deploy(f, parallel)
            failed = sorted(h["host"] for h in r["hosts"] if h["state"] == "failed")
            label = {"clean": "", "faults": " (3 faults)", "slow": f" (1 host {slow:g} s slow)"}[mode]
            rows.append([hosts, f"first deploy{label}", s, r["changed"], code, ",".join(failed) or "-"])
            if mode == "faults":
                f.grow_disk(hit[1])
                f.fail_start(hit[2], on=False)
                s, r, code = _deploy(f, parallel)
                rows.append([hosts, "rerun after the fix", s, r["changed"], code, "-"])
            s, r, code = _deploy(f, parallel)
            rows.append([hosts, f"no-change rerun{label}", s, r["changed"], code, "-"])
            if mode == "clean":
                for p in compare:
                    s, r, code = _deploy(f, p)
                    rows.append([hosts, f"no-change rerun, --parallel {p}", s, r["changed"], code, "-"])
                t = time.perf_counter()
                res = run_flyer("fs3", "status", str(f.path), *f.flyer_args(), env={"COLUMNS": "80"})
                wide = max(map(len, res.stdout.splitlines()))
                rows.append(
                    [hosts, f"status ({wide} columns)", time.perf_counter() - t, 0, res.returncode, "-"]
                )
        finally:
            f.cleanup()
            sshd.stop(server)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--parallel", type=int, default=32)
    ap.add_argument(
        "--compare-parallel",
        type=int,
        nargs="*",
        default=[],
        metavar="P",
        help="also time the no-change rerun at each of these --parallel values",
    )
    ap.add_argument("--faults", action="store_true", help="also deploy through three faults, then rerun")
    ap.add_argument(
        "--slow",
        type=float,
        default=0.0,
        metavar="S",
        help="also deploy with one storage host S seconds late on every command",
    )
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if sshd.skip_reason():
        sys.exit(sshd.skip_reason())
    rows = []
    for n in a.hosts:
        rows += one(n, a.parallel, "clean", 0, a.compare_parallel)
        if a.faults:
            rows += one(n, a.parallel, "faults", 0, [])
        if a.slow > 0:
            rows += one(n, a.parallel, "slow", a.slow, [])
    base: dict[int, float] = {}
    for r in rows:  # the first no-change rerun at each size (the one after the clean deploy)
        if r[1] == "no-change rerun":
            base.setdefault(r[0], r[2])
    rows = [[*r[:3], r[2] / base[r[0]], *r[3:]] for r in rows]
    report(
        f"fs3 deploy to loopback hosts, --parallel {a.parallel} (seconds; x = over the no-change rerun)",
        ["hosts", "run", "seconds", "x", "changes", "exit", "failed hosts"],
        rows,
        a.json,
    )


if __name__ == "__main__":
    main()
