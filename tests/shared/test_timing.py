"""The shared timing protocol (fireflyer.timing), against a small pure-Python reference of its statistics."""

from __future__ import annotations

import statistics
import time

import pytest
from conftest import requires_cuda
from hypothesis import given
from hypothesis import strategies as st

from fireflyer.errors import InputError
from fireflyer.timing import Recorder, Timing, percentile, time_fn


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


def test_spread():
    t = Timing((1.0, 2.0, 3.0, 4.0, 5.0))
    assert t.median == 3.0 and t.spread == pytest.approx((t.p80 - t.p20) / 3.0)


@requires_cuda
def test_time_fn_cuda_events():
    import torch

    x = torch.randn(1024, 1024, device="cuda")
    t = time_fn(lambda: x @ x, device="cuda", samples=3)
    assert t.median > 0 and t.flushed and t.device == "cuda"
