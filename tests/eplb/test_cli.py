"""`flyer eplb` as a user runs it: JSON output, exit codes, one-line errors, nothing written on error."""

import json

import numpy as np
import pytest
from conftest import run_flyer
from typer.testing import CliRunner

from fireflyer.cli import app

from .helpers import zipf_loads

runner = CliRunner()
V3 = ["--replicas", "288", "--groups", "8", "--nodes", "4", "--gpus", "32"]


def flyer(*args):
    return run_flyer(*map(str, args))


@pytest.fixture
def load(tmp_path):
    p = tmp_path / "load.npy"
    np.save(p, zipf_loads(4, 256, 0.8, seed=1, noise=0.2))
    return p


def test_plan_sample_json(tmp_path):
    out = tmp_path / "plan.json"
    r = runner.invoke(
        app,
        [
            "eplb",
            "plan",
            "--model",
            "deepseek-v3",
            "--nodes",
            "4",
            "--gpus",
            "32",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["groups"] == 8 and data["replicas"] == 288 and data["layers"] == 58
    assert "shipped sample" in r.stderr
    assert json.loads(out.read_text())["meta"]["input_digest"] == data["input_digest"]


def test_plan_evaluate_diff_installed(tmp_path, load):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert flyer("eplb", "plan", load, *V3, "--policy", "deepseek", "--out", a).returncode == 0
    r = flyer("eplb", "plan", load, *V3, "--out", b, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["policy"] == "balanced"
    ev = flyer("eplb", "evaluate", b, load, "--json")
    assert ev.returncode == 0
    assert (
        json.loads(ev.stdout)["overall"]
        < json.loads(flyer("eplb", "evaluate", a, load, "--json").stdout)["overall"]
    )
    d = json.loads(flyer("eplb", "diff", a, b, "--json").stdout)
    assert d["copies"] == sum(d["per_gpu"]) == sum(d["per_node"]) and d["bytes"] == d["copies"] * 44050944
    assert len(d["per_node"]) == 4


def test_evaluate_max_imbalance_exit_1(tmp_path, load):
    p = tmp_path / "p.json"
    runner.invoke(app, ["eplb", "plan", str(load), *V3, "--policy", "deepseek", "--out", str(p)])
    r = runner.invoke(app, ["eplb", "evaluate", str(p), str(load), "--max-imbalance", "1.0001"])
    assert r.exit_code == 1 and "above --max-imbalance" in r.stderr
    assert runner.invoke(app, ["eplb", "evaluate", str(p), str(load), "--max-imbalance", "9"]).exit_code == 0


def test_plan_previous_reports_copies(tmp_path, load):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    runner.invoke(app, ["eplb", "plan", str(load), *V3, "--out", str(a)])
    r = runner.invoke(app, ["eplb", "plan", str(load), *V3, "--previous", str(a), "--out", str(b), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["copies"] == 0 and data["bytes"] == 0


BAD_LOADS = {
    "nan.json": "[[1, NaN]]",
    "inf.json": "[[1, 1e999]]",
    "neg.json": "[[1, -2]]",
    "rank1.json": "[1, 2]",
    "rank3.json": "[[[1, 2]]]",
    "empty.json": "",
    "trunc.json": "[[1, 2], [",
    "words.csv": "a,b\n1,x\n",
}


@pytest.mark.parametrize("name", sorted(BAD_LOADS))
def test_bad_load_files(tmp_path, name):
    p = tmp_path / name
    p.write_text(BAD_LOADS[name])
    out = tmp_path / "plan.json"
    r = runner.invoke(app, ["eplb", "plan", str(p), "--replicas", "2", "--gpus", "1", "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("flyer: error: ") and str(p) in r.stderr and r.stderr.count("\n") == 1
    assert not out.exists() and r.stdout == ""


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["--replicas", "200", "--groups", "8", "--nodes", "4", "--gpus", "32"],
            "fewer than the 256 experts",
        ),
        (["--replicas", "300", "--groups", "8", "--nodes", "4", "--gpus", "32"], "not a multiple of 32 GPUs"),
        (
            ["--replicas", "288", "--groups", "7", "--nodes", "1", "--gpus", "32"],
            "not a multiple of 7 groups",
        ),
        (["--replicas", "288", "--groups", "8", "--nodes", "5", "--gpus", "32"], "not a multiple of 5 nodes"),
        (["--replicas", "288", "--groups", "8", "--nodes", "4", "--gpus", "0"], "gpus: must be positive"),
        (["--replicas", "288", "--groups", "6", "--nodes", "4", "--gpus", "32", "--hierarchical"], "groups"),
        (["--policy", "greedy"], "unknown policy"),
        (["--format", "xml"], "unknown format"),
    ],
)
def test_bad_layouts(tmp_path, load, args, words):
    out = tmp_path / "plan.json"
    r = runner.invoke(app, ["eplb", "plan", str(load), *args, "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert words in r.stderr and r.stderr.count("\n") == 1
    assert not out.exists()


def test_plan_and_load_of_different_shapes(tmp_path, load):
    p = tmp_path / "p.json"
    runner.invoke(app, ["eplb", "plan", str(load), *V3, "--out", str(p)])
    other = tmp_path / "other.npy"
    np.save(other, np.ones((3, 256), dtype=np.float32))
    r = runner.invoke(app, ["eplb", "evaluate", str(p), str(other)])
    assert r.exit_code == 2 and "4 layers, load has 3" in r.stderr
    np.save(other, np.ones((4, 128), dtype=np.float32))
    assert runner.invoke(app, ["eplb", "evaluate", str(p), str(other)]).exit_code == 2


def test_bad_input_installed_flyer(tmp_path):
    p = tmp_path / "nan.json"
    p.write_text("[[1, NaN, 3]]")
    r = flyer("eplb", "plan", p, "--replicas", "3", "--gpus", "1", "--json")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"flyer: error: {p}: [0][1]: ") and "finite" in r.stderr
