"""`fireflyer.trace.analysis` on whole traces: DeepSeek's published training trace against an independent
computation, and `flyer trace analyze` as a person and a script read it."""

from __future__ import annotations

import pytest

from fireflyer.trace import analyze
from fireflyer.trace.synthetic import generate_ranks
from tests.conftest import FIXTURES, run_flyer, run_json

from .trace_reference import COMM, figures, load

DEEPSEEK = FIXTURES / "profile-data-train.json"


@pytest.mark.skipif(
    not DEEPSEEK.exists(), reason="DeepSeek's profile-data trace is not in ../shared/fixtures"
)
def test_deepseek_training_trace_against_an_independent_computation():
    doc = load(DEEPSEEK)
    gpu0 = [e for e in doc["traceEvents"] if e.get("pid") == 0]
    ref = figures(gpu0, comm=COMM)
    a = analyze([DEEPSEEK], top=0)
    [r] = a.ranks
    assert (r.rank, r.device, r.steps) == (0, 0, 1)
    assert (r.kernels, r.comm_kernels, r.memory_ops) == (
        ref["kernels"],
        ref["comm_kernels"],
        ref["memory_ops"],
    )
    for key in ("span_us", "busy_us", "compute_us", "comm_us", "memory_us", "overlap_us"):
        assert getattr(r, key) == ref[key], key
    # The published figures: DeepEP's 32 internode kernels (of 36 dpsk::ep:: kernels; 4 compute a layout)
    # run on stream 27 and hide under compute 96.3% of their time.
    assert r.comm_kernels == 32
    assert sum(1 for e in gpu0 if "dpsk::ep::" in e.get("name", "") and e.get("cat") == "kernel") == 36
    assert r.comm_hidden_pct == pytest.approx(100 * 108868 / 113030)
    assert (r.span_us, r.busy_us, r.exposed_comm_us) == (129012, 128515, 4162)
    assert {s.stream: s.comm_us for s in r.streams} == {7: 0, 23: 0, 27: 113030}
    layout = analyze([DEEPSEEK], comm_patterns=[r"dpsk::ep::"]).ranks[0]
    assert layout.comm_kernels == 36


def test_analyze_cli_json_and_human(tmp_path):
    generate_ranks(tmp_path, 2, steps=3, straggler=1)
    data = run_json("trace", "analyze", str(tmp_path), "--top", "2")
    assert set(data) == {"ranks", "summary", "comm_patterns"}
    r0 = data["ranks"][0]
    for key in (
        "rank",
        "span_us",
        "busy_us",
        "compute_us",
        "comm_us",
        "overlap_us",
        "comm_hidden_pct",
        "exposed_comm_us",
        "idle_pct",
        "streams",
        "top_kernels",
    ):
        assert key in r0
    assert len(r0["top_kernels"]) == 2 and data["summary"]["straggler"]["rank"] == 1
    res = run_flyer("trace", "analyze", str(tmp_path))
    assert res.returncode == 0 and "straggler: rank 1" in res.stdout and "top kernels of rank 1" in res.stdout
