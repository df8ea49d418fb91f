"""`run`: real torch.distributed processes (gloo on CPU) against a single-process reference."""

from __future__ import annotations

import dataclasses
import json

import msgspec
import pytest

from fireflyer import cluster as launch
from fireflyer import pipeline as pp
from fireflyer.errors import CheckFailed, InputError
from tests.conftest import run_flyer, run_json

pytest.importorskip("torch")


def _run(schedule: str, ranks: int, microbatches: int) -> pp.RunResult:
    return pp.run(pp.RunConfig(schedule=schedule, ranks=ranks, microbatches=microbatches), backend="gloo")


@pytest.fixture(scope="module")
def dualpipe2() -> pp.RunResult:
    return _run("dualpipe", 2, 4)


def _assert_matches_reference(r: pp.RunResult) -> None:
    d = msgspec.to_builtins(r.record())
    assert d["backend"] == "gloo"
    assert d["loss"] == pytest.approx(d["reference_loss"], rel=1e-6)
    assert d["max_cosine_difference"] < 1e-6
    assert d["max_abs_grad_difference"] < 1e-5
    assert [p["op_order_matches"] for p in d["per_rank"]] == [True] * r.config.ranks
    assert d["op_order_matches"]
    pp.check(r)


def test_dualpipe_2_ranks(dualpipe2):
    _assert_matches_reference(dualpipe2)
    d = msgspec.to_builtins(dualpipe2.record())
    assert d["stages"] == 2 and len(d["per_rank"]) == 2
    m, sim = d["measured"], d["simulated"]
    assert 0 < m["bubble"] < m["makespan"] and 0 <= m["bubble_fraction"] < 1
    assert sim["makespan"] > 0 and d["chunk_times"]["f"] > 0
    assert (dualpipe2.measured_end >= dualpipe2.measured_start).all()


@pytest.mark.parametrize("schedule,ranks,microbatches", [("dualpipe", 4, 8), ("1f1b", 2, 4)])
def test_schedule_matches_reference(schedule, ranks, microbatches):
    _assert_matches_reference(_run(schedule, ranks, microbatches))


def test_check_fails_on_wrong_order_or_gradients(dualpipe2):
    with pytest.raises(CheckFailed, match="op order"):
        pp.check(dataclasses.replace(dualpipe2, order_matches=[True, False]))
    with pytest.raises(CheckFailed, match="cosine"):
        pp.check(dataclasses.replace(dualpipe2, max_cosine_difference=1e-3))
    with pytest.raises(CheckFailed, match="loss"):
        pp.check(dataclasses.replace(dualpipe2, loss=dualpipe2.reference_loss + 1))


def test_bad_input_fails_before_any_process(monkeypatch):
    def no_spawn(*a, **k):
        raise AssertionError("spawned processes for a bad configuration")

    monkeypatch.setattr(launch, "launch_local", no_spawn)
    with pytest.raises(InputError, match="even number of ranks"):
        pp.RunConfig(schedule="dualpipe", ranks=3, microbatches=8)
    with pytest.raises(InputError, match="microbatches >= 2"):
        pp.RunConfig(schedule="dualpipev", ranks=4, microbatches=4)
    with pytest.raises(InputError, match="unknown backend"):
        pp.run(pp.RunConfig(schedule="1f1b", ranks=2, microbatches=4), backend="mpi")


def test_cli_json_dualpipev_with_chrome_trace(tmp_path):
    trace = tmp_path / "run.json"
    d = run_json("pipeline", "run", "-s", "dualpipev", "-p", "2", "-n", "4", "--chrome-trace", str(trace))
    assert (d["schedule"], d["ranks"], d["stages"], d["backend"]) == ("dualpipev", 2, 4, "gloo")
    assert d["loss"] == pytest.approx(d["reference_loss"], rel=1e-6) and d["max_cosine_difference"] < 1e-6
    assert d["op_order_matches"] is True
    assert set(d["measured"]) == set(d["simulated"]) == {"makespan", "bubble", "bubble_fraction"}
    events = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    assert len(events) == sum(p["ops"] for p in d["per_rank"])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["-s", "dualpipe", "-p", "3"], "even number of ranks"),
        (["-s", "nosuch"], "is not one of"),
        (["--backend", "mpi"], "is not one of"),
        (["--hidden", "0"], "hidden must be at least 1"),
    ],
)
def test_cli_bad_input_exits_2(args, needle):
    res = run_flyer("pipeline", "run", *args, timeout=30)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and res.stdout == ""
    assert len(lines) == 1 and needle in lines[0]


@pytest.mark.parametrize(
    "schedule,ranks,microbatches", [("dualpipe", 8, 20), ("dualpipev", 4, 8), ("zbv", 4, 8)]
)
def test_send_order_covers_every_transfer_and_differs_from_need_order(schedule, ranks, microbatches):
    from fireflyer.pipeline.runner import _f_owners, _send_order

    s = pp.generate(schedule, ranks, microbatches)
    f_owner = _f_owners(s)
    order = _send_order(s, f_owner)
    acts = [(0, st, m) for (st, m), r in f_owner.items() if st < s.stages - 1 and f_owner[(st + 1, m)] != r]
    grads = [(1, st, m) for (st, m), r in f_owner.items() if st > 0 and f_owner[(st - 1, m)] != r]
    assert sorted(msg for seq in order.values() for msg in seq) == sorted(acts + grads)
    # Receivers need some peer's messages in another order than it sends them: what `fetch` buffers for.
    need: dict = {}
    for r in range(s.ranks):
        for i in range(int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])):
            k, st, m = int(s.kind[i]), int(s.stage[i]), int(s.mb[i])
            bst, bm = (int(s.stage2[i]), int(s.mb2[i])) if k == 4 else (st, m)
            if k in (0, 4) and st > 0 and f_owner[(st - 1, m)] != r:
                need.setdefault((f_owner[(st - 1, m)], r), []).append((0, st - 1, m))
            if k in (1, 2, 4) and bst < s.stages - 1 and f_owner[(bst + 1, bm)] != r:
                need.setdefault((f_owner[(bst + 1, bm)], r), []).append((1, bst + 1, bm))
    assert any(need[pair] != seq for pair, seq in order.items())


def _gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.gpu
@pytest.mark.multi_gpu
@pytest.mark.skipif(_gpus() < 2, reason="NCCL run needs 2 CUDA GPUs (one per rank); this machine has fewer")
@pytest.mark.parametrize("schedule,microbatches", [("dualpipe", 4), ("dualpipev", 4), ("1f1b", 4)])
def test_nccl_two_gpus_matches_reference(schedule, microbatches):
    r = pp.run(pp.RunConfig(schedule=schedule, ranks=2, microbatches=microbatches), backend="nccl")
    d = msgspec.to_builtins(r.record())
    assert d["backend"] == "nccl" and d["op_order_matches"]
    assert d["loss"] == pytest.approx(d["reference_loss"], rel=1e-5)
    assert d["max_cosine_difference"] < 1e-6


def test_torchrun_from_the_repository_root():
    """The README's torchrun line works from the checkout too (the src/ layout keeps the source tree off
    sys.path, so every rank imports the installed package with its compiled core)."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    torchrun = Path(sys.executable).parent / "torchrun"
    exe = str(torchrun) if torchrun.exists() else shutil.which("torchrun")
    if exe is None:
        pytest.skip("torchrun is not installed")
    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [
            exe,
            "--nproc-per-node",
            "2",
            "--master-port",
            str(launch.free_port()),
            "-m",
            "fireflyer.cli",
            "pipeline",
            "run",
            "-s",
            "1f1b",
            "-p",
            "2",
            "-n",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout)
    assert d["ranks"] == 2 and d["op_order_matches"] and d["max_cosine_difference"] < 1e-6
