"""The core's I/O engine and metadata workload (fireflyer._core.fs3.bench), against the pure-Python
reference of the job check and against what they must leave on disk."""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pytest
from fireflyer._core.fs3 import bench as core
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer.errors import InputError

from . import bench_reference as ref

KiB, MiB = 1 << 10, 1 << 20


@given(
    size=st.integers(-5, 1 << 34),
    block=st.sampled_from([0, 1, 511, 512, 1000, 4096, 6144, 8192, MiB, (1 << 30) + 1]),
    jobs=st.integers(-1, 5000),
    iodepth=st.integers(-1, 1100),
    direct=st.booleans(),
    runtime=st.sampled_from([0.0, 1.5, -1.0, math.inf, math.nan]),
)
@settings(max_examples=300)
def test_check_io_matches_reference(size, block, jobs, iodepth, direct, runtime):
    want, per_job = ref.check_io(size, block, jobs, iodepth, direct, runtime)
    if want == "ok" and jobs * iodepth * block > 1 << 33:
        return  # the core also refuses buffers larger than the memory available; not modelled here
    if want == "ok":
        assert core.check_io(size, block, jobs, iodepth, direct, runtime) == per_job
    else:
        with pytest.raises(InputError) as e:
            core.check_io(size, block, jobs, iodepth, direct, runtime)
        assert e.value.field == want


@pytest.mark.parametrize("write", [False, True])
@pytest.mark.parametrize("random", [False, True])
def test_run_io_moves_every_block_once(tmp_path, write, random):
    seen = []
    run = core.run_io(
        str(tmp_path),
        4 * MiB,
        4 * KiB,
        2,
        4,
        True,
        0.0,
        write,
        random,
        5,
        lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert run.bytes == 4 * MiB and run.ops == 1024 and run.file_bytes == 2 * MiB and run.seconds > 0
    assert len(run.latency_s) == 1024 and (np.asarray(run.latency_s) > 0).all()
    assert seen and seen[-1] == ("run", 4 * MiB, 4 * MiB)
    assert {stage for stage, _, _ in seen} <= {"layout", "run"}
    for j in range(2):
        data = (tmp_path / f"job{j}.dat").read_bytes()
        assert len(data) == 2 * MiB
        blocks = {data[i : i + 4 * KiB] for i in range(0, len(data), 4 * KiB)}
        if write:
            # every block holds one of the 4 in-flight buffers: none is left a hole (zeros)
            assert len(blocks) <= 4 and bytes(4 * KiB) not in blocks
        else:
            assert len(blocks) == 256  # the layout (a 1 MiB random chunk, repeated), as laid out


def test_run_io_buffered_and_runtime_limit(tmp_path):
    run = core.run_io(str(tmp_path), 64 * MiB, 512, 1, 1, False, 0.2, True, True, 0, None)
    assert 0 < run.ops <= 64 * MiB // 512 and run.bytes == run.ops * 512
    assert run.seconds < 5


def test_run_io_reports_a_failed_open_without_hanging(tmp_path):
    with pytest.raises(InputError, match="cannot open .*job0.dat|cannot create"):
        core.run_io(str(tmp_path / "missing"), 8 * MiB, 4 * KiB, 4, 4, True, 0.0, True, False, 0, None)


def test_run_io_stops_when_progress_raises(tmp_path):
    def boom(stage, done, total):
        raise RuntimeError("stop here")

    t = time.monotonic()
    with pytest.raises(RuntimeError, match="stop here"):
        core.run_io(str(tmp_path), 1 << 30, 4 * KiB, 2, 1, True, 0.0, True, True, 0, boom)
    assert time.monotonic() - t < 20


def test_run_io_stops_on_a_signal(tmp_path):
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    t = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            core.run_io(str(tmp_path), 1 << 30, 4 * KiB, 2, 1, True, 0.0, True, True, 0, None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - t < 20


def test_direct_supported_leaves_nothing(tmp_path):
    assert core.direct_supported(str(tmp_path)) in (True, False)
    assert list(tmp_path.iterdir()) == []


def test_run_metadata_phases_and_cleanup(tmp_path):
    seen = []
    phases = core.run_metadata(str(tmp_path), 300, 7, 3, 100, lambda s, d, t: seen.append((d, t)))
    assert [p.name for p in phases] == ["create", "stat", "rename", "delete"]
    assert all(p.ops == 300 and p.seconds > 0 and len(p.latency_s) == 300 for p in phases)
    assert seen[-1] == (1200, 1200)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, field",
    [
        ((0, 1, 1), "files"),
        ((10, 0, 1), "dirs"),
        ((10, 11, 1), "dirs"),
        ((10, 2, 0), "jobs"),
        ((3, 1, 4), "files"),
    ],
)
def test_run_metadata_refuses_bad_counts(tmp_path, args, field):
    with pytest.raises(InputError) as e:
        core.run_metadata(str(tmp_path), *args)
    assert e.value.field == field


def test_run_metadata_reports_a_failed_create_without_hanging(tmp_path):
    (tmp_path / "d000000").mkdir()
    (tmp_path / "d000000" / "f0000000000").write_text("in the way")
    with pytest.raises(InputError, match="cannot create .*f0000000000: File exists"):
        core.run_metadata(str(tmp_path), 400, 4, 4)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers  # the caller (scratch_dir) removes the rest; the core only stopped cleanly
    assert os.path.exists(tmp_path / "d000000")
