"""Every `flyer eplb COMMAND --json` is its record's encoding (`commands.eplb.RESULTS`): it decodes
strictly into that type (the records forbid unknown keys) and encodes back to the same document."""

from __future__ import annotations

import json

import msgspec
import pytest

from fireflyer.commands.eplb import RESULTS

from .helpers import cli

# (command as typed after `flyer eplb`, its arguments), in order, from an empty folder.
RUNS = [
    ("sample", ["--out", "load.npy"]),
    ("sample", ["--kind", "next-load", "--format", "sglang", "--out", "next.pt"]),
    ("sample", ["--kind", "plan", "--out", "sample-plan.json"]),
    ("plan", ["load.npy", "--model", "deepseek-v3", "--nodes", "4", "--gpus", "32", "--out", "plan.json"]),
    ("plan", ["load.npy", "--deployment", "deepseek-v3-prefill", "--policy", "deepseek", "--out", "p.pt"]),
    ("plan", ["next.pt", "--previous", "plan.json", "--model", "deepseek-v3", "--out", "next.json"]),
    ("evaluate", ["plan.json", "load.npy", "--model", "deepseek-v3"]),
    ("evaluate", ["plan.json", "next.pt", "--model", "deepseek-v3", "--max-imbalance", "1.0001"]),
    ("diff", ["plan.json", "next.json"]),
    ("rebalance", ["--load", "next.pt", "--current", "plan.json", "--model", "deepseek-v3", "--dry-run"]),
]


SERVED = {"collect"}
"""Commands that need a running server: their --json is decoded into the record in test_collect.py."""


def test_every_command_is_run_here():
    assert {cmd for cmd, _ in RUNS} | SERVED == set(RESULTS)


def test_json_is_the_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for cmd, args in RUNS:
        r = cli("eplb", cmd, *args, "--json")
        assert r.returncode in (0, 1), (cmd, args, r.stderr)
        record = msgspec.json.decode(r.stdout, type=RESULTS[cmd], strict=True)
        doc = json.loads(r.stdout)
        assert json.loads(msgspec.json.encode(record)) == doc, cmd


@pytest.mark.parametrize("cmd", sorted(RESULTS))
def test_records_have_a_json_schema(cmd):
    assert msgspec.json.schema(RESULTS[cmd])["$ref"]


def test_replicas_is_a_hidden_alias_of_slots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli("eplb", "sample", "--out", "load.npy")
    for flag in ("--slots", "--replicas", "-r"):
        r = cli("eplb", "plan", "load.npy", flag, "288", "--gpus", "32", "--model", "deepseek-v3", "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["slots"] == 288, (flag, r.stderr)
    help_text = cli("eplb", "plan", "--help").stdout
    assert "--slots" in help_text and "--replicas" not in help_text
