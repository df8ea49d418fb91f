"""Bad input, by class, is refused once where it belongs: exit 2, one line on stderr, nothing written.

Each class is handled in one place (the option types, the loader, the output writer, the schemas, the core);
these cases are samples of each class, so the next bad input of a known class is refused by construction.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from fireflyer.cli import app

runner = CliRunner()


def refused(*args: str):
    r = runner.invoke(app, list(args))
    assert r.exit_code == 2, (args, r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flyer: error: "), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    return lines[0]


# Numbers: NaN, infinities, values past what the core's integers hold, thresholds that mean nothing.
@pytest.mark.parametrize(
    "args",
    [
        ["profiles", "detect", "--quick", "--min-gbps", "nan"],
        ["profiles", "detect", "--quick", "--min-gbps", "-1"],
        ["eplb", "plan", "l.npy", "--tolerance", "nan"],
        ["eplb", "plan", "l.npy", "--tolerance", "inf"],
        ["eplb", "evaluate", "p.json", "l.npy", "--max-imbalance", "nan"],
        ["eplb", "rebalance", "--load", "l.npy", "--current", "p.json", "--min-gain", "nan"],
        ["pipeline", "simulate", "--b-time", "1e308"],
        ["pipeline", "simulate", "--f-time", "inf"],
        ["pipeline", "simulate", "--p2p-latency", "-0.5"],
        ["pipeline", "simulate", "-p", "1000000000000"],
        ["pipeline", "simulate", "-p", "100000000000000000000000"],
        ["pipeline", "compare", "-n", "-3"],
        ["pipeline", "measure", "--samples", "0"],
        ["eplb", "plan", "l.npy", "--replicas", "99999999999999999999999"],
    ],
)
def test_numbers(args):
    refused(*args)


# Sizes that cannot fit: estimated and refused before anything is allocated.
@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "l.npy", np.ones((2, 256)))


@pytest.mark.parametrize(
    "args",
    [
        ["pipeline", "simulate", "-p", "4", "-n", "100000000"],
        ["pipeline", "compare", "-p", "100000", "-n", "200000"],
        ["pipeline", "compare", "-p", "1000", "-n", "16000000"],
        ["eplb", "plan", "l.npy", "--replicas", "256000000", "--gpus", "8"],
        ["pipeline", "measure", "--experts", "1000000"],
        ["pipeline", "measure", "--hidden", "1000000"],
        ["pipeline", "run", "--hidden", "100000"],
        ["profiles", "detect", "--threads", "100000"],
        ["profiles", "detect", "--threads", "256"],
    ],
)
def test_sizes(args):
    refused(*args)


# Ranges: empty, fractional where whole numbers are meant, astronomically long.
@pytest.mark.parametrize(
    "args",
    [
        ["pipeline", "sweep", "--ranks", "32:2"],
        ["pipeline", "sweep", "--ranks", "1.5"],
        ["pipeline", "sweep", "--ranks", "2:1000000000000:2"],
        ["pipeline", "sweep", "--f-time", "1:2:0.0000001"],
        ["pipeline", "sweep", "--f-time", "1:2:0"],
        ["pipeline", "sweep", "--ranks", "4,,8"],
        ["pipeline", "sweep", "--schedules", "1f1b,nope"],
        ["pipeline", "sweep", "--ranks", "2:64", "-n", "1:1000", "--w-time", "0.1:1:0.001"],
    ],
)
def test_ranges(args):
    refused(*args)


# Files: every input goes through one loader (or one array check) that names the file.
BAD_FILES = {
    "bool.json": "[[true, false], [false, true]]",
    "complex.npy": np.array([[1 + 2j, 3]]),
    "dupkeys.json": '{"logical_count": [[1, 2]], "logical_count": [[3, 4]]}',
    "deep.json": "[" * 5000 + "]" * 5000,
    "lots.json": '{"logical_count": "lots"}',
    "ragged.json": '{"logical_count": [[1, 2], [3]]}',
    "damaged.csv": '1,2\n"3,4\n',
    "latin1.csv": b"1,2\n\xe9,4\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_files(tmp_path, name):
    p = tmp_path / name
    data = BAD_FILES[name]
    if isinstance(data, np.ndarray):
        np.save(p, data)
    else:
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    line = refused("eplb", "plan", str(p), "--replicas", "2", "--gpus", "1")
    assert str(p) in line


HW = "kind: hardware\nname: x\nvendor: v\nsources: {}\n"
PROFILES = {
    "negative": HW + "memory_gib: -1\nhbm_gbps: 1\npeak_tflops: {fp32: 1}\n",
    "nan": HW + "memory_gib: 1\nhbm_gbps: .nan\npeak_tflops: {fp32: 1}\n",
    "inf": HW + "memory_gib: 1\nhbm_gbps: 1\npeak_tflops: {fp32: .inf}\n",
    "dup": HW + "name: y\nmemory_gib: 1\nhbm_gbps: 1\npeak_tflops: {fp32: 1}\n",
    "sizes": "kind: deployment\nname: x\nhardware: h800-sxm\nmodel: deepseek-v3\nphase: decode\nnodes: 2\n"
    "gpus_per_node: 8\nep: 12\nsources: {}\n",
    "layers": "kind: deployment\nname: x\nhardware: h800-sxm\nmodel: deepseek-v3\nphase: decode\nnodes: 2\n"
    "gpus_per_node: 8\ntp: 2\npp: 2\ndp: 2\nsources: {}\n",
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profiles(tmp_path, name):
    p = tmp_path / f"{name}.yaml"
    p.write_text(PROFILES[name])
    assert str(p) in refused("profiles", "validate", str(p))


def test_deployment_naming_missing_hardware_is_skipped_with_a_reason(tmp_path, monkeypatch):
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "ghost.yaml").write_text(
        "kind: deployment\nname: ghost\nhardware: b300\nmodel: deepseek-v3\n"
        "phase: decode\nnodes: 1\ngpus_per_node: 8\nsources: {}\n"
    )
    monkeypatch.setenv("FLYER_PROFILES", str(d))
    r = runner.invoke(app, ["profiles", "list", "--kind", "deployment"])
    assert r.exit_code == 0 and "ghost" not in r.stdout and "no hardware profile" in r.stderr
    assert "no hardware profile" in refused("profiles", "show", "ghost")


# Outputs: never replace an input, never two outputs on one path, never a special or unwritable file.
def test_output_may_not_replace_input(tmp_path):
    load = tmp_path / "small.npy"
    np.save(load, np.ones((2, 4)))
    before = load.read_bytes()
    refused("eplb", "plan", str(load), "--replicas", "4", "--gpus", "2", "--out", str(load))
    assert load.read_bytes() == before


def test_two_outputs_on_one_path(tmp_path):
    out = tmp_path / "x.out"
    refused("pipeline", "simulate", "--svg", str(out), "--chrome-trace", str(out))
    assert not out.exists()


@pytest.mark.parametrize("dest", ["/proc/version", "/nonexistent-dir/x.json"])
def test_unwritable_destinations(dest):
    refused("pipeline", "sweep", "--ranks", "4", "--out", dest)


def test_profile_name_checked_before_measuring(tmp_path):
    out = tmp_path / "f.yaml"
    assert "name" in refused("profiles", "detect", "--name", "a b/c: [x", "--out", str(out))
    assert not out.exists()
