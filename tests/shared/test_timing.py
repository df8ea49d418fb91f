"""The shared timing protocol (fireflyer.timing), against a small pure-Python reference of its statistics."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fireflyer.errors import InputError
from fireflyer.timing import STEADY_HEAP, Recorder, Timing, in_fresh_process, percentile, time_fn
from tests.conftest import requires_cuda


def _percentile_reference(xs, q):
    xs = sorted(xs)
    k = (len(xs) - 1) * q / 100
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.sampled_from([0, 20, 50, 80, 100]))
def test_percentile_matches_reference(xs, q):
    assert percentile(xs, q) == pytest.approx(_percentile_reference(xs, q))
    if q == 50:
        assert percentile(xs, q) == pytest.approx(statistics.median(xs))


def test_time_fn_counts_and_orders():
    calls = []
    t = time_fn(lambda: calls.append(1), warmup=2, samples=5)
    assert len(calls) == 7 and len(t.samples) == 5 and t.warmup == 2
    assert 0 <= t.best <= t.p20 <= t.median <= t.p80
    d = t.as_dict("us")
    assert d["samples"] == 5 and d["median_us"] == pytest.approx(t.median * 1e6)
    t = time_fn(lambda: None, samples=3, flush=True)
    assert len(t.samples) == 3 and t.flushed
    with pytest.raises(InputError):
        time_fn(lambda: None, samples=0)


def test_threads_fixed_and_reported():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    seen = []
    t = time_fn(lambda: seen.append(torch.get_num_threads()), warmup=0, samples=2, threads=1)
    assert seen == [1, 1] and t.threads == 1
    assert torch.get_num_threads() == before


def test_recorder_sections():
    rec = Recorder("cpu", warmup=1)
    with rec.fixed():
        for i in range(4):
            rec.keep = i >= 1
            with rec.section("a"):
                pass
            with rec.section("b"):
                pass
    t = rec.timings()
    assert set(t) == {"a", "b"} and len(t["a"].samples) == 3


def test_recorder_steps_warm_up_by_count_and_time():
    rec = Recorder("cpu", warmup=2)
    kept = []
    for _ in rec.steps(4):
        kept.append(rec.keep)
        with rec.section("a"):
            pass
    assert kept == [False, False, True, True, True, True] and rec.warmup == 2
    assert len(rec.timings()["a"].samples) == 4

    rec = Recorder("cpu", warmup=1, warmup_seconds=0.05)
    t0 = time.perf_counter()
    for _ in rec.steps(2):
        if not rec.keep:
            time.sleep(0.01)
    assert time.perf_counter() - t0 >= 0.05 and rec.warmup >= 5
    assert time_fn(lambda: None, warmup=0, samples=2, warmup_seconds=0.02).warmup > 0


def test_recorder_samples_by_count_and_time_and_reports_progress():
    shares: list[float] = []
    rec = Recorder("cpu", warmup=0, sample_seconds=0.05)
    t0 = time.perf_counter()
    for _ in rec.steps(2, shares.append):
        with rec.section("a"):
            time.sleep(0.005)
    assert time.perf_counter() - t0 >= 0.05 and rec.samples >= 5
    assert len(rec.timings()["a"].samples) == rec.samples == len(shares)
    assert sum(shares) == pytest.approx(1.0) and all(s >= 0 for s in shares) and rec.done == 1.0

    shares.clear()
    rec = Recorder("cpu", warmup=1)
    assert sum(1 for _ in rec.steps(4, shares.append)) == 5 and rec.samples == 4
    assert shares == [0.25] * 4
    assert len(time_fn(lambda: None, warmup=0, samples=2, sample_seconds=0.02).samples) > 2


def test_spread():
    t = Timing((1.0, 2.0, 3.0, 4.0, 5.0))
    assert t.median == 3.0 and t.spread == pytest.approx((t.p80 - t.p20) / 3.0)


@requires_cuda
def test_time_fn_cuda_events():
    import torch

    x = torch.randn(1024, 1024, device="cuda")
    t = time_fn(lambda: x @ x, device="cuda", samples=3)
    assert t.median > 0 and t.flushed and t.device == "cuda"


def _child_facts(n: int, progress) -> dict:
    """Run in a fresh process: allocate and free 1 MiB blocks and report what the process saw."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    for _ in range(3):  # warm: the heap grows once
        blocks = [libc.malloc(1 << 20) for _ in range(n)]
        for b in blocks:
            ctypes.memset(b, 1, 1 << 20)
            libc.free(b)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        blocks = [libc.malloc(1 << 20) for _ in range(n)]
        for b in blocks:
            ctypes.memset(b, 1, 1 << 20)
            libc.free(b)
        progress(0.1)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return {"pid": os.getpid(), "tunables": os.environ.get("GLIBC_TUNABLES"), "faults": faults}


def _child_input_error(progress) -> None:
    raise InputError("no such block", file="b.yaml", field="hidden", hint="use 256")


def _child_crash(progress) -> None:
    raise ZeroDivisionError("boom")


def test_in_fresh_process_runs_with_the_steady_heap_and_forwards_progress():
    shares: list[float] = []
    before = os.environ.get("GLIBC_TUNABLES")
    facts = in_fresh_process(_child_facts, {"n": 8}, shares.append)
    assert facts["pid"] != os.getpid() and shares == [0.1] * 10
    assert os.environ.get("GLIBC_TUNABLES") == before  # the parent's environment is left as it was
    if platform.libc_ver()[0] == "glibc":
        assert facts["tunables"].startswith(STEADY_HEAP)
        # 80 MiB allocated, touched and freed after the warm-up: the kept heap takes (almost) no faults,
        # where glibc's defaults give each 1 MiB block back and fault it in again (about 250 apiece).
        assert facts["faults"] < 100, facts


def test_in_fresh_process_raises_the_childs_errors():
    with pytest.raises(InputError) as e:
        in_fresh_process(_child_input_error, {})
    assert (e.value.message, e.value.file, e.value.field, e.value.hint) == (
        "no such block",
        "b.yaml",
        "hidden",
        "use 256",
    )
    with pytest.raises(RuntimeError, match="ZeroDivisionError: boom"):
        in_fresh_process(_child_crash, {})
