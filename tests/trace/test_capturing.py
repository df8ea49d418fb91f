"""Capturing real jobs: a 2-rank gloo torchrun job with an optimizer under `flyer trace capture`, then
analyze and merge of what it wrote; code without an optimizer; the job's output and exit code."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from pathlib import Path

import pytest

from fireflyer import InputError
from fireflyer.trace import analyze, capture, capturing, merge, running, step
from tests.conftest import run_flyer

pytest.importorskip("torch")

TRAIN = textwrap.dedent(
    """
    import sys
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    torch.manual_seed(dist.get_rank())
    model = torch.nn.parallel.DistributedDataParallel(
        torch.nn.Sequential(torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(int(sys.argv[1])):
        model(torch.randn(32, 128)).sum().backward()
        opt.step()
        opt.zero_grad()
    print(f"rank {dist.get_rank()} trained", flush=True)
    dist.destroy_process_group()
    """
)

SERVE = textwrap.dedent(
    """
    import torch
    import fireflyer.trace

    x = torch.randn(64, 64)
    for _ in range(8):  # no optimizer: the loop says where a step ends
        x = torch.tanh(x @ x.T / 64)
        fireflyer.trace.step()
    print("served")
    """
)


@pytest.mark.slow
def test_capture_torchrun_gloo_job_then_analyze_and_merge(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    for attempt in range(3):
        out = tmp_path / f"traces{attempt}"
        res = run_flyer(
            "trace",
            "capture",
            "--active",
            "2",
            "--host-metrics",
            "--out",
            str(out),
            "--json",
            "--",
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(script),
            "7",
            timeout=240,
        )
        # NOTE: now and then a gloo rank aborts *after* training, as its process exits ("terminate called
        # without an active exception"): torch's teardown, not flyer's code. The same job under plain
        # torchrun, no flyer at all, aborted so in 1 of 8 runs here (torch 2.13.0, 2 cores); the job's exit
        # code is then not 0, as capture reports. Only that exact case is run again, at most twice.
        if not (res.returncode != 0 and "terminate called without an active exception" in res.stderr):
            break
        assert "rank 0 trained" in res.stderr and "rank 1 trained" in res.stderr, res.stderr
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)  # the job's own output went to stderr, not into the JSON
    assert "rank 0 trained" in res.stderr and "rank 1 trained" in res.stderr
    assert data["exit_code"] == 0 and data["problems"] == []
    assert [(t["rank"], t["steps"]) for t in data["traces"]] == [(0, 2), (1, 2)]  # active x repeat steps
    for rank in (0, 1):
        doc = json.loads((out / f"rank{rank}.json").read_text())
        assert doc["distributedInfo"]["rank"] == rank and doc["distributedInfo"]["backend"] == "gloo"
        assert doc["fireflyer"]["schedule"]["active"] == 2
        steps = [e for e in doc["traceEvents"] if e.get("name", "").startswith("ProfilerStep#")]
        lo = min(e["ts"] for e in steps)
        hi = max(e["ts"] + e["dur"] for e in doc["traceEvents"] if e.get("ph") == "X")
        counters = [e for e in doc["traceEvents"] if e.get("ph") == "C"]
        assert {e["name"] for e in counters} == {
            "host CPU %",
            "host memory (MiB)",
            "host network (MB/s)",
            "host disk (MB/s)",
        }
        assert all(lo - 200_000 <= e["ts"] <= hi for e in counters)  # on the trace's clock, in its span
        assert all(e["args"]["rss"] > 10 for e in counters if e["name"] == "host memory (MiB)")

    a = analyze([out])
    assert [e.rank for e in a.ranks] == [0, 1] and all(e.device is None for e in a.ranks)
    assert all(e.cpu.comm_us > 0 for e in a.ranks)  # gloo's all-reduce ranges are communication
    g = a.summary.straggler  # equal ranks: named only when noise moves one past the threshold
    assert g is None or (g.by == "cpu_compute_us" and g.over_median_pct > a.summary.straggler_threshold_pct)
    result = merge([out], tmp_path / "merged.json")
    assert [r.rank for r in result.ranks] == [0, 1] and result.events > 0


@pytest.mark.slow
def test_capture_code_without_an_optimizer(tmp_path):
    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    out = tmp_path / "traces"
    res = run_flyer(
        *("trace", "capture", "--wait", "0", "--warmup", "1", "--active", "2", "--repeat", "2"),
        *("-o", str(out), "--", sys.executable, str(script)),
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "served" in res.stdout  # the job's output is not swallowed
    assert "job exit code 0" in res.stdout and "warning" not in res.stderr
    for cycle in (1, 2):  # a trace per cycle, each with the active steps
        [r] = analyze([out / f"cycle{cycle}"]).ranks
        assert (r.rank, r.steps) == (0, 2)


def test_exit_code_and_output_pass_through(tmp_path):
    res = run_flyer(
        "trace",
        "capture",
        "-o",
        str(tmp_path / "t"),
        "--",
        sys.executable,
        "-c",
        "import sys; print('hello from the job'); sys.exit(7)",
    )
    assert res.returncode == 7
    assert "hello from the job" in res.stdout and "no traces" in res.stderr
    assert not (tmp_path / "t").exists()  # nothing written: no empty folder left behind
    (tmp_path / "t").mkdir()
    res = run_flyer("trace", "capture", "-o", str(tmp_path / "t"), "--", sys.executable, "-c", "pass")
    assert res.returncode == 0, res.stderr  # an empty directory is fine, and stays
    assert (tmp_path / "t").is_dir()
    (tmp_path / "t" / "old.json").write_text("{}")
    res = run_flyer("trace", "capture", "-o", str(tmp_path / "t"), "--", sys.executable, "-c", "pass")
    assert res.returncode == 2 and "already holds files" in res.stderr
    res = run_flyer("trace", "capture", "-o", str(tmp_path / "u"), "--", "no-such-command-here")
    assert res.returncode == 2 and "command not found: no-such-command-here" in res.stderr


def test_capture_context_manager_in_process(tmp_path):
    import torch

    with capture(tmp_path, wait=0, warmup=0, active=2) as session:
        x = torch.randn(32, 32)
        for _ in range(3):
            x = x @ x.T / 32
            step()
    assert [p.name for p in session.files] == ["rank0.json"]
    [r] = analyze([tmp_path]).ranks
    assert r.steps == 2
    step()  # no capture running: nothing happens


@pytest.mark.parametrize("kind", ["not-executable", "directory", "name-too-long", "missing"])
def test_a_job_that_cannot_start_exits_2_and_leaves_nothing(tmp_path, kind):
    work = tmp_path / "work"
    work.mkdir()
    script = work / "job.sh"
    script.write_text("echo hi\n")  # mode 644: not executable
    command = {
        "not-executable": str(script),
        "directory": str(work),
        "name-too-long": "a" * 5000,
        "missing": "no-such-command-here",
    }[kind]
    out = tmp_path / "new" / "deeper" / "traces"  # its missing parents too are removed again
    res = run_flyer("trace", "capture", "-o", str(out), "--", command, "--flag")
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "COMMAND: " in lines[0], res.stderr
    assert command[:50] in lines[0] and len(lines[0]) < 200  # named, a long name cut short
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_an_output_that_cannot_be_made_exits_2_naming_it(tmp_path):
    (tmp_path / "file").write_text("x")
    for out in ("/proc/x", str(tmp_path / "file" / "t")):
        res = run_flyer("trace", "capture", "-o", out, "--", sys.executable, "-c", "pass")
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1 and str(Path(out).parent) in lines[0], res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_arguments_too_long_for_the_system_leave_nothing(tmp_path):
    out = tmp_path / "t"
    with pytest.raises(InputError, match="cannot run .*: Argument list too long"):
        running.run([sys.executable, "-c", "pass", "x" * 200_000], capturing.Settings(out=out))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_every_next_hint_runs_as_printed(tmp_path):
    (tmp_path / "serve.py").write_text(SERVE)
    res = run_flyer(
        *("trace", "capture", "--wait", "0", "--warmup", "0", "--active", "2", "--repeat", "2"),
        *("-o", "my traces", "--", sys.executable, "serve.py"),  # a space: the hint must quote it
        cwd=str(tmp_path),
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    hints = [line.removeprefix("next: ") for line in res.stderr.splitlines() if line.startswith("next: ")]
    assert hints == [
        "flyer trace analyze 'my traces/cycle1'",
        "flyer trace diff 'my traces/cycle1' 'my traces/cycle2'",
    ]
    for hint in hints:
        argv = shlex.split(hint)
        ran = run_flyer(*argv[1:], cwd=str(tmp_path))
        assert argv[0] == "flyer" and ran.returncode == 0, (hint, ran.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my traces", "serve.py"]  # no temporary folder
