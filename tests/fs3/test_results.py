"""Each fs3 command's --json is its record's encoding: decoded strictly as ``RESULTS[command]``, with the
keys it always had."""

from __future__ import annotations

import json
import typing

import msgspec

from fireflyer.commands import fs3 as commands
from fireflyer.commands import fs3_bench
from tests.conftest import run_flyer

from .results import decoded
from .test_health import CHAINS, NODES, TARGETS


def _json(*args: str) -> str:
    r = run_flyer(*args, "--json")
    assert r.returncode in (0, 1), r.stderr
    return r.stdout


def test_every_command_has_a_result_type():
    typed = set(commands.RESULTS)
    assert {"init", "plan chains", "plan add-nodes", "render", "preflight", "deploy", "status"} <= typed
    assert {"teardown", "bench io", "bench meta", "bench sort", "bench all"} <= typed
    assert set(fs3_bench.RESULTS) <= typed
    # a record, or a union of records tagged by ``scope`` (fs3 bench: on this host or on every client)
    kinds = [k for t in commands.RESULTS.values() for k in (typing.get_args(t) or (t,))]
    assert all(isinstance(k, type) and issubclass(k, msgspec.Struct) for k in kinds)


def test_local_commands_decode_strictly(tmp_path):
    out = _json("fs3", "init", str(tmp_path / "c.yaml"))
    assert decoded("init", out).fdb_cluster_example == str(tmp_path / "fdb.cluster")
    out = _json(
        "fs3", "plan", "chains", "--nodes", "5", "--min-targets-per-disk", "6", "--out", str(tmp_path / "p")
    )
    r = decoded("plan chains", out)
    assert r.chains == 10 and r.first_chain.chain_id == json.loads(out)["first_chain"]["chain_id"]
    assert set(json.loads(out)) >= {"pair_count_histogram", "peer_traffic", "note", "written", "moved"}
    out = _json("fs3", "plan", "add-nodes", str(tmp_path / "p" / "generated_chains.csv"), "--add", "1")
    assert decoded("plan add-nodes", out).new_node_ids == [10006]
    out = _json("fs3", "render", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r"))
    assert decoded("render", out).layout.balanced
    out = _json("fs3", "preflight", "--local", "--disk", "/")
    r = decoded("preflight", out)
    assert json.loads(out)["counts"]["pass"] == r.counts.pass_ == sum(c.status == "pass" for c in r.checks)
    for name, text in (("list-nodes", NODES), ("list-targets", TARGETS), ("list-chains", CHAINS)):
        (tmp_path / f"{name}.txt").write_text(text)
    assert decoded("status", _json("fs3", "status", "--from", str(tmp_path))).targets.total == 2


def test_bench_io_and_meta_decode_strictly(tmp_path):
    out = _json("fs3", "bench", "io", str(tmp_path), "--size", "8MiB", "--engine", "builtin", "--buffered")
    r = decoded("bench io", out)
    assert r.bytes == 8 << 20 and r.pattern == "seq-read" and r.latency.samples
    out = _json("fs3", "bench", "meta", str(tmp_path), "--files", "200", "--dirs", "4", "--jobs", "2")
    assert [p.name for p in decoded("bench meta", out).phases] == ["create", "stat", "rename", "delete"]
    out = _json("fs3", "bench", "all", str(tmp_path), "--size", "8MiB", "--files", "200", "--dirs", "4",
                "--engine", "builtin", "--buffered", "--no-sort")  # fmt: skip
    r = decoded("bench all", out)
    assert r.sort is None and len(r.io) == 4 and r.counts.unchecked + r.counts.pass_ == len(r.summary)
