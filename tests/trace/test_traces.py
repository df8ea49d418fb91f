"""Whole traces: the synthetic generator's known answers, DeepSeek's published training trace against an
independent computation, merging and diffing."""

from __future__ import annotations

import json

import pytest

from fireflyer.trace import analyze, diff, merge
from fireflyer.trace.synthetic import generate, generate_ranks
from tests.conftest import FIXTURES, run_flyer, run_json

from .trace_reference import COMM, figures, kernel, load, trace, write

DEEPSEEK = FIXTURES / "profile-data-train.json"
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


def test_merge_aligns_both_timestamp_conventions(tmp_path):
    src = tmp_path / "ranks"
    src.mkdir()
    e0 = generate(src / "rank0.json", steps=3, rank=0, world_size=2)
    e1 = generate(src / "rank1.json.gz", steps=3, rank=1, world_size=2, timestamps="relative")
    out = tmp_path / "merged.json"
    result = merge([src], out)
    doc = json.loads(out.read_text())
    assert result.events == len(doc["traceEvents"]) and doc["otherData"]["align"] == "clock"
    names = {(e["pid"], e["args"]["name"]) for e in doc["traceEvents"] if e["name"] == "process_name"}
    assert names == {(0, "rank 0 (rank0.json)"), (1, "rank 1 (rank1.json.gz)")}
    rows = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert {"GPU 0 stream 7", "GPU 0 stream 27", "CPU 4242 thread 4242"} <= rows
    timed = [e for e in doc["traceEvents"] if "ts" in e]
    assert min(e["ts"] for e in timed) == 0
    flows = {(e["pid"], e["id"]) for e in doc["traceEvents"] if e["ph"] in "sf"}
    ids = sorted(i for _, i in flows)  # renumbered 1..N, rank after rank: no id on two ranks
    assert {pid for pid, _ in flows} == {0, 1} and ids == list(range(1, len(ids) + 1))
    again = tmp_path / "again.json"
    merge([src], again)
    assert again.read_bytes() == out.read_bytes()  # deterministic
    # The merged trace is a trace too: each rank's kernels on its own process, with the same figures.
    m = analyze([out]).ranks
    assert [(e.device, e.busy_us, e.overlap_us) for e in m] == [
        (0, e0.busy_us, e0.overlap_us),
        (1, e1.busy_us, e1.overlap_us),
    ]


def flows(rank: int, ids: list) -> dict:
    """A trace whose CPU launches point at their kernels with flow arrows of the given ids."""
    events = [kernel(100, 5)]
    for k, i in enumerate(ids):
        arrow = {"cat": "ac2g", "name": "launch", "id": i}
        events.append({"ph": "s", **arrow, "pid": 1, "tid": 1, "ts": 90 + k})
        events.append({"ph": "f", **arrow, "pid": 0, "tid": 7, "ts": 100 + k, "bp": "e"})
    return trace(events, distributedInfo={"rank": rank})


def test_merge_renumbers_flow_ids_of_any_size(tmp_path):
    write(tmp_path / "rank0.json", flows(0, [2**70, 5, "0xabc", 2**64 - 1]))
    write(tmp_path / "rank1.json", flows(1, [2**64 + 3, 5]))
    out = tmp_path / "merged.json"
    merge([tmp_path / "rank0.json", tmp_path / "rank1.json"], out)
    doc = json.loads(out.read_text())
    arrows = [(e["pid"], e["ph"], e["id"]) for e in doc["traceEvents"] if e["ph"] in "sf"]
    # Dense, in order of first appearance, rank after rank: each arrow keeps its two ends together.
    expected = [(rank, p, i) for rank, ids in ((0, (1, 2, 3, 4)), (1, (5, 6))) for i in ids for p in "sf"]
    assert arrows == expected
    merge([tmp_path / "rank0.json", tmp_path / "rank1.json"], tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == out.read_bytes()


def test_a_failed_merge_leaves_nothing(tmp_path):
    src = tmp_path / "ranks"
    generate_ranks(src, 2, steps=2)
    # Valid for the scan, refused only while the events stream out: a flow event's id of the wrong type.
    write(src / "rank2.json", trace([kernel(0, 5), {"ph": "s", "ts": 1, "pid": 0, "tid": 1, "id": [1]}]))
    res = run_flyer("trace", "merge", str(src), "-o", str(tmp_path / "m.json"))
    assert res.returncode == 2 and "rank2.json: traceEvents[1]" in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ranks"]  # no output, no temporary file


def test_merge_by_step_and_cli(tmp_path):
    generate_ranks(tmp_path / "r", 2, steps=2)
    data = run_json(
        "trace", "merge", str(tmp_path / "r"), "--out", str(tmp_path / "m.json"), "--align", "step"
    )
    assert [r["rank"] for r in data["ranks"]] == [0, 1] and data["align"] == "step"
    res = run_flyer("trace", "merge", str(tmp_path / "r"), "--out", str(tmp_path / "r" / "rank0.json"))
    assert res.returncode == 2 and "would replace the input" in res.stderr


def test_diff_finds_what_got_slower(tmp_path):
    generate_ranks(tmp_path / "a", 2, steps=6, seed=1)
    generate_ranks(tmp_path / "b", 2, steps=9, seed=1, straggler=1, slow=2.0)
    d = diff([tmp_path / "a"], [tmp_path / "b"], top=0)
    assert d.per == "step" and d.what == "kernels" and (d.a.steps, d.b.steps) == (12, 18)
    compute = {t.metric: t for t in d.totals}["compute_us"]
    assert compute.delta > 0
    grown = [r for r in d.rows if r.kind == "compute" and r.delta_us > 0]
    assert grown and d.rows[0].delta_us == max(abs(r.delta_us) for r in d.rows)
    same = diff([tmp_path / "a"], [tmp_path / "a"])
    assert all(r.delta_us == 0 for r in same.rows)
    data = run_json("trace", "diff", str(tmp_path / "a"), str(tmp_path / "b"), "--top", "3")
    assert len(data["rows"]) == 3 and data["per"] == "step"


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
