"""The straggler: the rank with the most compute time, communication waits excluded, named only when it
exceeds the median rank's by more than STRAGGLER_OVER_MEDIAN_PCT; on device traces from the synthetic oracle,
on CPU (gloo) traces against the pure-Python reference, both ways."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer.trace import STRAGGLER_OVER_MEDIAN_PCT, analyze
from fireflyer.trace.synthetic import generate_ranks
from tests.conftest import run_flyer, run_json

from .trace_reference import cpu_compute_us, cpu_op, trace, write


def test_device_straggler_named_when_it_stands_out(tmp_path):
    expected = generate_ranks(tmp_path, 4, steps=8, straggler=2, slow=1.5)
    s = analyze([tmp_path]).summary
    assert s.straggler is not None and (s.straggler.rank, s.straggler.by) == (2, "compute_us")
    assert s.straggler.value_us == expected[2].compute_us
    assert s.straggler.over_median_pct > STRAGGLER_OVER_MEDIAN_PCT == s.straggler_threshold_pct == 10


@pytest.mark.parametrize("slow", [1.0, 1.05])
def test_no_device_straggler_among_equal_ranks(tmp_path, slow):
    expected = generate_ranks(tmp_path, 4, steps=8, straggler=1, slow=slow)
    s = analyze([tmp_path]).summary
    assert max(e.compute_us for e in expected) < 1.1 * s.metrics["compute_us"].median  # within the threshold
    assert s.straggler is None


def gloo_rank(rank: int, compute: int, wait: int) -> dict:
    """A CPU rank of a gloo job: the main thread computes for `compute` us, then blocks in the all-reduce for
    `wait` us while gloo's thread runs it; a profiler step around both."""
    events = [
        cpu_op(0, compute + wait + 10, name="ProfilerStep#1", cat="user_annotation"),
        cpu_op(0, compute // 2, name="aten::mm"),
        cpu_op(compute // 2, compute - compute // 2, name="aten::addmm"),
        cpu_op(compute // 4, 5, name="aten::empty", tid=1),  # nested: counted once
        cpu_op(compute, wait + 10, name="c10d::allreduce_"),
        cpu_op(compute + 2, wait + 6, name="gloo:all_reduce", tid=2, cat="user_annotation"),
    ]
    return trace(events, distributedInfo={"rank": rank, "world_size": 2})


def test_cpu_straggler_is_the_rank_that_computes_not_the_one_that_waits(tmp_path):
    # Rank 0 computes 100 us and waits 350 in gloo: the busier rank. Rank 1 computes 400 and hardly waits.
    docs = [gloo_rank(0, 100, 350), gloo_rank(1, 400, 0)]
    for r, doc in enumerate(docs):
        write(tmp_path / f"rank{r}.json", doc)
    a = analyze([tmp_path])
    busy = [e.cpu.busy_us for e in a.ranks]
    assert busy[0] > busy[1]  # busy time counts the wait: the old rule named rank 0
    reference = [cpu_compute_us(d["traceEvents"]) for d in docs]
    assert [e.cpu.compute_us for e in a.ranks] == reference == [100, 400]
    g = a.summary.straggler
    assert g is not None and (g.rank, g.by, g.value_us, g.median_us) == (1, "cpu_compute_us", 400, 250)
    assert g.over_median_pct == pytest.approx(60)
    assert a.summary.metrics["cpu_compute_us"].max_rank == 1


def test_no_cpu_straggler_among_equal_ranks(tmp_path):
    for r, (compute, wait) in enumerate([(400, 20), (410, 10), (395, 25)]):  # within 10% of the median
        write(tmp_path / f"rank{r}.json", gloo_rank(r, compute, wait))
    assert analyze([tmp_path]).summary.straggler is None
    data = run_json("trace", "analyze", str(tmp_path))
    assert data["summary"]["straggler"] is None and data["summary"]["straggler_threshold_pct"] == 10
    res = run_flyer("trace", "analyze", str(tmp_path))
    assert res.returncode == 0 and "no straggler: no rank's compute time is more than 10% over" in res.stdout


def test_cli_names_the_cpu_straggler(tmp_path):
    write(tmp_path / "rank0.json", gloo_rank(0, 100, 350))
    write(tmp_path / "rank1.json", gloo_rank(1, 400, 0))
    res = run_flyer("trace", "analyze", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "straggler: rank 1 (cpu compute 0.400 ms, 60.0% over the median 0.250 ms" in res.stdout


CATS = {  # name -> category, as Kineto writes them
    "aten::mm": "cpu_op",
    "aten::add_": "cpu_op",
    "c10d::allreduce_": "cpu_op",
    "record_param_comms": "cpu_op",
    "cudaLaunchKernel": "cuda_runtime",
    "gloo:all_reduce": "user_annotation",
    "ProfilerStep#3": "user_annotation",
    "my_region": "user_annotation",
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 60), st.sampled_from(sorted(CATS)), st.integers(1, 3)),
        min_size=1,
        max_size=30,
    )
)
def test_cpu_compute_matches_the_reference(tmp_path_factory, ops):
    events = [cpu_op(ts, dur, name=name, tid=tid, cat=CATS[name]) for ts, dur, name, tid in ops]
    path = write(tmp_path_factory.mktemp("c") / "t.json", trace(events))
    [r] = analyze([path]).ranks
    assert r.cpu.compute_us == cpu_compute_us(events)
