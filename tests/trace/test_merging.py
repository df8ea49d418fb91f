"""`fireflyer.trace.merging`: one timeline from many ranks; timestamps, flow ids, atomic output."""

from __future__ import annotations

import json

from fireflyer.trace import analyze, merge
from fireflyer.trace.synthetic import generate, generate_ranks
from tests.conftest import run_flyer, run_json

from .trace_reference import kernel, trace, write


def flows(rank: int, ids: list) -> dict:
    """A trace whose CPU launches point at their kernels with flow arrows of the given ids."""
    events = [kernel(100, 5)]
    for k, i in enumerate(ids):
        arrow = {"cat": "ac2g", "name": "launch", "id": i}
        events.append({"ph": "s", **arrow, "pid": 1, "tid": 1, "ts": 90 + k})
        events.append({"ph": "f", **arrow, "pid": 0, "tid": 7, "ts": 100 + k, "bp": "e"})
    return trace(events, distributedInfo={"rank": rank})


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
