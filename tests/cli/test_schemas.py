"""`flyer schema`: every group's RESULTS names commands it has, and each documented --json decodes into
its record, strictly (no key missing, none unknown, every type as stated)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import msgspec
import pytest
import typer

import fireflyer
from fireflyer.cli import GROUPS, app
from fireflyer.kernels import results as kernel_results
from tests.conftest import FIXTURES, run_flyer

PROFILE = Path(fireflyer.__file__).parent / "profiles/data/model/deepseek-v3.yaml"
TRACE = FIXTURES / "profile-data-train.json"


def _results(module: str) -> dict[str, type] | None:
    return getattr(importlib.import_module(f"fireflyer.commands.{module}"), "RESULTS", None)


DOCUMENTED = [(g.name, g.module) for g in GROUPS if _results(g.module)]


@pytest.mark.parametrize("group, module", DOCUMENTED, ids=[g for g, _ in DOCUMENTED])
def test_every_listed_command_exists_and_has_a_schema(group, module):
    root = typer.main.get_command(app)
    for path in _results(module):
        cmd = root.get_command(None, group)
        for word in path.split():
            cmd = cmd.get_command(None, word) if hasattr(cmd, "get_command") else None
            assert cmd is not None, f"RESULTS of flyer {group} names {path!r}, which it does not have"
        res = run_flyer("schema", group, *path.split())
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)  # a JSON Schema document
    listed = run_flyer("schema", group, "--json")
    if list(_results(module)) != [""]:  # a group that is one command prints its schema instead
        assert json.loads(listed.stdout) == sorted(_results(module))


def test_unknown_commands_and_groups_without_schemas_exit_2():
    res = run_flyer("schema", "pipeline", "nosuch")
    assert res.returncode == 2 and "simulate" in res.stderr
    assert run_flyer("schema", "nosuchgroup").returncode == 2


def _bench_document(tmp_path: Path) -> str:
    row = {
        "op": "gemm",
        "backend": "torch",
        "device": "cpu (X, 2 threads)",
        "shape": {"m": 64, "n": 256, "k": 512},
        **dict.fromkeys(("median_us", "p20_us", "p80_us", "flops", "bytes", "tflops", "gbps"), 1.0),
        **dict.fromkeys(("pct_peak_flops", "pct_peak_bw", "error_metric"), 1.0),
        "correct": True,
        "error_kind": "calc_diff",
    }
    doc = {"schema": kernel_results.SCHEMA, "suite": {}, "env": {"device_name": "X"}, "roof": None}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({**doc, "results": [row]}))
    return str(path)


# (group, command as in RESULTS, its arguments): a shipped sample or a small input of each command.
SAMPLES = [
    ("profiles", "list", []),
    ("profiles", "show", ["deepseek-v3"]),
    ("profiles", "validate", [str(PROFILE)]),
    ("kernels", "list", ["--device", "cpu"]),
    ("kernels", "compare", ["{bench}", "{bench}"]),
    ("pipeline", "simulate", ["-p", "4", "-n", "8"]),
    ("pipeline", "simulate", ["-s", "1f1b", "-p", "2", "-n", "1"]),  # deadlock-free error-free small case
    ("pipeline", "compare", ["-p", "3", "-n", "8"]),  # odd stages: rows with `error`
    ("pipeline", "sweep", ["--ranks", "3:4", "--microbatches", "8", "--schedules", "all"]),
    ("pipeline", "sweep", ["--ranks", "4", "-n", "8", "--out", "{tmp}/sweep.csv"]),
    ("inference", "cost", "--input-tokens 1e9 --cache-hit-tokens 5e8 --output-tokens 2e8 --nodes 4".split()),
    ("inference", "estimate", ["--deployment", "deepseek-v3-prefill"]),
    ("inference", "estimate", ["--deployment", "deepseek-v3-decode", "--frontier"]),
    ("inference", "plan", ["--tokens-per-day", "608e9", "168e9", "--diurnal"]),
    ("trace", "analyze", ["{trace}"]),
    ("trace", "merge", ["{trace}", "-o", "{tmp}/merged.json"]),
    ("trace", "diff", ["{trace}", "{trace}"]),
    ("trace", "capture", ["--out", "{tmp}/capture", "--", "python", "-c", "pass"]),
]
SLOW_SAMPLES = [
    ("profiles", "detect", ["--quick"]),
    ("kernels", "bench", ["gemm", "--backend", "reference", "--quick", "--device", "cpu"]),
    ("pipeline", "measure", ["--hidden", "64", "--tokens", "32", "--samples", "2", "--sample-seconds", "0"]),
    ("pipeline", "run", ["-p", "2", "-n", "4"]),
]


def _trace(tmp_path: Path) -> Path:
    """DeepSeek's published training trace where the fixtures are, else a synthetic one."""
    if TRACE.exists():
        return TRACE
    from fireflyer.trace.synthetic import generate

    generate(tmp_path / "synthetic.json", steps=4, seed=1)
    return tmp_path / "synthetic.json"


def _decodes(group, command, args, tmp_path):
    trace = _trace(tmp_path) if any("{trace}" in a for a in args) else None
    args = [a.format(tmp=tmp_path, bench=_bench_document(tmp_path), trace=trace) for a in args]
    words = command.split()
    cut = args.index("--") if "--" in args else len(args)
    res = run_flyer(group, *words, *args[:cut], "--json", *args[cut:], timeout=600)
    assert res.returncode in (0, 1), res.stderr
    msgspec.json.decode(res.stdout, type=_results(group)[command], strict=True)


@pytest.mark.parametrize("group, command, args", SAMPLES, ids=[f"{g} {c}" for g, c, _ in SAMPLES])
def test_json_decodes_into_its_record(group, command, args, tmp_path):
    _decodes(group, command, args, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("group, command, args", SLOW_SAMPLES, ids=[f"{g} {c}" for g, c, _ in SLOW_SAMPLES])
def test_json_of_slow_commands_decodes_into_its_record(group, command, args, tmp_path):
    _decodes(group, command, args, tmp_path)


def test_every_command_of_our_groups_has_a_sample():
    sampled = {(g, c) for g, c, _ in SAMPLES + SLOW_SAMPLES}
    for group in ("profiles", "kernels", "pipeline", "inference", "trace"):
        assert {(group, c) for c in _results(group)} <= sampled
