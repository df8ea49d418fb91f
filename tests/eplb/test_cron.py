"""`flyer eplb rebalance` for cron, with real processes: the lock, a kill mid-write, min-gain."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fireflyer import eplb
from tests.conftest import run_flyer

from .helpers import zipf_loads

# A rebalance that stops inside its atomic write (after writing the temp file, before the rename) and
# tells the test so by creating MARKER: the moment a crash or a kill would do the most damage.
SLOW_WRITER = """
import os, sys, time, pathlib
marker = pathlib.Path(sys.argv[1])
def stuck(fd):
    marker.touch()
    time.sleep(60)
os.fsync = stuck
sys.argv = ["flyer"] + sys.argv[2:]
from fireflyer.cli import main
main()
"""


@pytest.fixture
def setup(tmp_path):
    w = zipf_loads(58, 256, 0.8, seed=11, noise=0.3)
    cur = tmp_path / "plan.json"
    eplb.write_plan(eplb.plan(w, 288, 8, 4, 32), cur)
    new = tmp_path / "load.npy"
    np.save(new, zipf_loads(58, 256, 0.8, seed=12, noise=0.3))  # different traffic: a rebalance pays
    return cur, new


def test_concurrent_run_is_refused_and_a_killed_run_leaves_the_plan_intact(tmp_path, setup):
    cur, new = setup
    before = cur.read_bytes()
    marker = tmp_path / "inside-write"
    env = {**os.environ, "NO_COLOR": "1"}
    slow = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_WRITER,
            str(marker),
            "eplb",
            "rebalance",
            "--load",
            str(new),
            "--current",
            str(cur),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )  # not the checkout: its fireflyer/ has no _core
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert slow.poll() is None, slow.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = run_flyer("eplb", "rebalance", "--load", str(new), "--current", str(cur), "--json")
        assert second.returncode == 75, second.stderr
        assert second.stdout == "" and "holds the lock" in second.stderr and second.stderr.count("\n") == 1
        assert cur.read_bytes() == before
    finally:
        slow.send_signal(signal.SIGKILL)
        slow.wait()
    assert cur.read_bytes() == before, "a run killed mid-write must leave the plan as it was"
    eplb.read_plan(cur)
    (left,) = tmp_path.glob(".plan.json.*.tmp")
    os.utime(left, (time.time() - 3600,) * 2)  # as the next cron run finds it
    third = run_flyer("eplb", "rebalance", "--load", str(new), "--current", str(cur), "--json")
    assert third.returncode == 0, third.stderr
    out = json.loads(third.stdout)
    assert out["removed"] == [str(left)] and not left.exists(), "the killed run's temporary file is removed"
    assert out["replaced"] and out["after"] < out["before"] and out["copies"] > 0
    assert eplb.read_plan(cur).meta["policy"] == "balanced+migration"


def test_kept_when_gain_is_small(setup):
    cur, new = setup
    before = cur.read_bytes()
    r = run_flyer("eplb", "rebalance", "--load", str(new), "--current", str(cur), "--min-gain", "0.9")
    assert r.returncode == 0 and r.stdout.startswith("kept ") and r.stdout.count("\n") == 1
    assert cur.read_bytes() == before


def test_max_moves(setup):
    cur, new = setup
    old = eplb.read_plan(cur)
    r = run_flyer(
        "eplb",
        "rebalance",
        "--load",
        str(new),
        "--current",
        str(cur),
        "--max-moves",
        "100",
        "--min-gain",
        "0",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["copies"] <= 100
    assert eplb.copies(old, eplb.read_plan(cur)).sum() <= 100


def test_missing_plan_is_bad_input(tmp_path, setup):
    _, new = setup
    r = run_flyer("eplb", "rebalance", "--load", str(new), "--current", str(tmp_path / "none.json"))
    assert r.returncode == 2 and "plan file not found" in r.stderr
    assert not (tmp_path / ".none.json.lock").exists()
