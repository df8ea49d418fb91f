"""Exact interval semantics of the overlap figures on hand-built traces, and the core against the pure-Python
reference on random ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer.trace import analyze

from .trace_reference import figures, kernel, trace, write

NCCL = "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)"
DEEPEP = "void deep_ep::internode::dispatch<false, 8, true, 8>(int4*)"


def one(tmp_path, events, **kw):
    path = write(tmp_path / "t.json", trace(events))
    [r] = analyze([path], top=0, **kw).ranks
    return r


def test_nested_kernels_count_once(tmp_path):
    r = one(tmp_path, [kernel(0, 100), kernel(10, 20, stream=8), kernel(20, 5, stream=9)])
    assert (r.span_us, r.busy_us, r.compute_us, r.comm_us, r.overlap_us) == (100, 100, 100, 0, 0)
    assert r.idle_pct == 0 and r.comm_hidden_pct is None  # no communication: None, never NaN


def test_touching_kernels_merge_without_gap(tmp_path):
    r = one(tmp_path, [kernel(0, 10), kernel(10, 10), kernel(20, 10, name=NCCL, stream=20)])
    assert (r.busy_us, r.compute_us, r.comm_us, r.overlap_us, r.exposed_comm_us) == (30, 20, 10, 0, 10)
    assert r.idle_pct == 0


def test_zero_length_and_duplicate_kernels(tmp_path):
    r = one(tmp_path, [kernel(0, 10), kernel(0, 10), kernel(50, 0), kernel(20, 10, name=NCCL, stream=20)])
    assert r.kernels == 4 and r.span_us == 50  # the zero-length kernel still bounds the span
    assert (r.busy_us, r.compute_us, r.comm_us) == (20, 10, 10)
    [gemm] = [k for k in r.top_kernels if k.name == "gemm"]
    assert (gemm.count, gemm.total_us, gemm.max_us) == (3, 20, 10)  # totals add durations, unions do not
    assert r.idle_pct == pytest.approx(60)


def test_several_streams_and_partial_overlap(tmp_path):
    events = [
        kernel(0, 40, stream=7),
        kernel(30, 40, stream=23),  # compute on two streams: union 0..70
        kernel(60, 30, name=DEEPEP, stream=27),  # hidden 60..70, exposed 70..90
        kernel(100, 10, name=NCCL, stream=28),  # exposed
        kernel(95, 3, cat="gpu_memcpy", name="Memcpy DtoD", stream=8),  # neither compute nor comm
    ]
    r = one(tmp_path, events)
    assert (r.span_us, r.busy_us, r.compute_us, r.comm_us, r.memory_us) == (110, 103, 70, 40, 3)
    assert (r.overlap_us, r.exposed_comm_us) == (10, 30)
    assert r.comm_hidden_pct == pytest.approx(25) and r.idle_pct == pytest.approx(100 * 7 / 110)
    assert (r.kernels, r.comm_kernels, r.memory_ops) == (4, 2, 1)
    assert {s.stream: s.busy_us for s in r.streams} == {7: 40, 8: 3, 23: 40, 27: 30, 28: 10}
    assert {s.stream: s.comm_us for s in r.streams}[27] == 30


def test_trace_starting_with_communication(tmp_path):
    r = one(tmp_path, [kernel(0, 50, name=NCCL, stream=20), kernel(40, 30)])
    assert (r.span_us, r.busy_us, r.comm_us, r.overlap_us, r.exposed_comm_us) == (70, 70, 50, 10, 40)
    assert r.comm_hidden_pct == pytest.approx(20)


def test_comm_patterns_replace_the_defaults(tmp_path):
    events = [kernel(0, 10, name="my_all_to_all"), kernel(5, 10, name=NCCL, stream=20)]
    r = one(tmp_path, events, comm_patterns=["all_to_all"])
    assert (r.comm_us, r.compute_us, r.comm_kernels) == (10, 10, 1)


def test_deepep_layout_kernels_compute(tmp_path):
    layout = "void deep_ep::layout::get_dispatch_layout<256, 32, 8>(long const*)"
    r = one(
        tmp_path, [kernel(0, 10, name=layout), kernel(0, 10, name="void dpsk::ep::internode::combine<8>()")]
    )
    assert (r.compute_us, r.comm_us, r.comm_kernels) == (10, 10, 1)


def test_devices_of_one_file_are_separate_entries(tmp_path):
    events = [kernel(0, 10, device=0), kernel(0, 30, device=1), kernel(5, 10, name=NCCL, device=1, stream=9)]
    a = analyze([write(tmp_path / "t.json", trace(events, distributedInfo={"rank": 3}))])
    assert [(e.rank, e.device, e.busy_us, e.overlap_us) for e in a.ranks] == [(3, 0, 10, 0), (3, 1, 30, 10)]


def test_cpu_only_trace_gives_cpu_breakdown_not_nan(tmp_path):
    ops = [
        {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 0, "dur": 10},
        {"ph": "X", "cat": "cpu_op", "name": "aten::add", "pid": 1, "tid": 1, "ts": 2, "dur": 3},
        {
            "ph": "X",
            "cat": "user_annotation",
            "name": "gloo:all_reduce",
            "pid": 1,
            "tid": 2,
            "ts": 5,
            "dur": 20,
        },
        {
            "ph": "X",
            "cat": "user_annotation",
            "name": "ProfilerStep#4",
            "pid": 1,
            "tid": 1,
            "ts": 0,
            "dur": 30,
        },
        {
            "ph": "X",
            "cat": "user_annotation",
            "name": "model.forward",
            "pid": 1,
            "tid": 1,
            "ts": 0,
            "dur": 30,
        },
    ]
    r = one(tmp_path, ops)
    assert r.device is None and r.kernels == 0 and "no device kernels" in r.note
    assert r.idle_pct is None and r.comm_hidden_pct is None and r.steps == 1
    c = r.cpu
    assert (c.span_us, c.busy_us, c.comm_us, c.ops) == (25, 25, 20, 3)  # non-comm annotations do not count
    assert {o.name: (o.self_us, o.total_us) for o in c.top_ops} == {
        "gloo:all_reduce": (20, 20),
        "aten::mm": (7, 10),
        "aten::add": (3, 3),
    }


span = st.tuples(st.integers(0, 200), st.integers(0, 60))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(span, st.sampled_from(["gemm", NCCL, DEEPEP, "memcpy"]), st.integers(0, 3)), min_size=1
    )
)
def test_core_matches_the_reference_on_random_traces(tmp_path_factory, items):
    events = [
        kernel(s, d, name=n, stream=stream, cat="gpu_memcpy" if n == "memcpy" else "kernel")
        for (s, d), n, stream in items
    ]
    path = write(tmp_path_factory.mktemp("t") / "t.json", trace(events))
    [r] = analyze([path], top=0).ranks
    ref = figures(events)
    for key in ("span_us", "busy_us", "compute_us", "comm_us", "memory_us", "overlap_us"):
        assert getattr(r, key) == ref[key], key
    assert {s.stream: s.busy_us for s in r.streams} == ref["streams"]
