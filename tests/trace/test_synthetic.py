"""The synthetic generator (`fireflyer.trace.synthetic`, the oracle of the trace tests): its known answers
against the core and against the pure-Python reference."""

from __future__ import annotations

import pytest

from fireflyer.trace import analyze
from fireflyer.trace.synthetic import generate, generate_ranks

from .trace_reference import figures, load

KEYS = ("steps", "kernels", "comm_kernels", "memory_ops", "span_us", "busy_us", "compute_us", "comm_us")


@pytest.mark.parametrize("timestamps", ["absolute", "relative"])
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_synthetic_known_answers(tmp_path, timestamps, suffix):
    expected = generate(tmp_path / f"t{suffix}", steps=25, timestamps=timestamps, seed=11)
    [r] = analyze([tmp_path / f"t{suffix}"], top=0).ranks
    for key in (*KEYS, "memory_us", "overlap_us", "exposed_comm_us", "comm_hidden_pct", "idle_pct"):
        assert getattr(r, key) == pytest.approx(getattr(expected, key), rel=1e-12), key
    assert {s.stream: s.busy_us for s in r.streams} == expected.stream_busy_us
    assert {k.name: (k.count, k.total_us) for k in r.top_kernels} == expected.kernel_totals


def test_synthetic_answer_matches_the_reference(tmp_path):
    generate(tmp_path / "t.json", steps=6, seed=2)
    doc = load(tmp_path / "t.json")
    ref = figures(doc["traceEvents"])
    [r] = analyze([tmp_path / "t.json"]).ranks
    for key in ("span_us", "busy_us", "compute_us", "comm_us", "memory_us", "overlap_us"):
        assert getattr(r, key) == ref[key], key


def test_synthetic_ranks_and_straggler(tmp_path):
    expected = generate_ranks(tmp_path, 4, steps=8, straggler=2, slow=1.5)
    a = analyze([tmp_path])
    assert [e.rank for e in a.ranks] == [0, 1, 2, 3]
    for e, x in zip(a.ranks, expected):
        assert (e.busy_us, e.compute_us, e.overlap_us) == (x.busy_us, x.compute_us, x.overlap_us)
    s = a.summary
    assert s.straggler.rank == 2 and s.straggler.value_us == expected[2].compute_us
    assert s.metrics["compute_us"].max_rank == 2
    middle = sorted(x.busy_us for x in expected)[1:3]
    assert s.metrics["busy_us"].median == pytest.approx(sum(middle) / 2)
