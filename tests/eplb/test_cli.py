"""`flyer eplb` as a user runs it: JSON output, exit codes, one-line errors, nothing written on error."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fireflyer import eplb
from fireflyer.cli import app
from tests.conftest import run_flyer

from .helpers import cli, zipf_loads

runner = CliRunner()
V3 = ["--slots", "288", "--groups", "8", "--nodes", "4", "--gpus", "32"]


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
    assert data["groups"] == 8 and data["slots"] == 288 and data["layers"] == 58
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
    r = runner.invoke(app, ["eplb", "plan", str(p), "--slots", "2", "--gpus", "1", "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("flyer: error: ") and str(p) in r.stderr and r.stderr.count("\n") == 1
    assert not out.exists() and r.stdout == ""


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["--slots", "200", "--groups", "8", "--nodes", "4", "--gpus", "32"],
            "fewer than the 256 experts",
        ),
        (["--slots", "300", "--groups", "8", "--nodes", "4", "--gpus", "32"], "not a multiple of 32 GPUs"),
        (
            ["--slots", "288", "--groups", "7", "--nodes", "1", "--gpus", "32"],
            "not a multiple of 7 groups",
        ),
        (["--slots", "288", "--groups", "8", "--nodes", "5", "--gpus", "32"], "not a multiple of 5 nodes"),
        (["--slots", "288", "--groups", "8", "--nodes", "4", "--gpus", "0"], "'--gpus': must be 1.."),
        (["--slots", "288", "--groups", "6", "--nodes", "4", "--gpus", "32", "--hierarchical"], "groups"),
        (["--policy", "greedy"], "'greedy' is not one of 'deepseek', 'balanced'"),
        (["--format", "xml"], "'xml' is not one of 'native', 'sglang', 'trtllm'"),
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
    assert r.exit_code == 2 and "no row for decoder layer 3" in r.stderr
    np.save(other, np.ones((4, 128), dtype=np.float32))
    assert runner.invoke(app, ["eplb", "evaluate", str(p), str(other)]).exit_code == 2


def test_bad_input_installed_flyer(tmp_path):
    p = tmp_path / "nan.json"
    p.write_text("[[1, NaN, 3]]")
    r = flyer("eplb", "plan", p, "--slots", "3", "--gpus", "1", "--json")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"flyer: error: {p}: [0][1]: ") and "finite" in r.stderr


# ---- Issue 11: layer ids, engine formats, engine inputs, one-line errors -----------------------------------


def test_58_rows_with_a_model_are_decoder_layers_3_to_60(tmp_path):
    load = tmp_path / "load.npy"
    assert cli("eplb", "sample", "--out", load).returncode == 0
    r = cli("eplb", "plan", load, "--model", "deepseek-v3", "--nodes", "4", "--gpus", "32", "--json")
    data = json.loads(r.stdout)
    assert data["layer_ids"] == list(range(3, 61)) and data["decoder_layers"] == 61
    assert data["layer_ids_from"].startswith("model deepseek-v3")
    trt = tmp_path / "plan.yaml"
    cli("eplb", "plan", load, "--model", "deepseek-v3", "--nodes", "4", "--gpus", "32", "--out", trt)
    import yaml

    assert sorted(yaml.safe_load(trt.read_text())["initial_global_assignments"]) == list(range(3, 61))
    first = json.loads(cli("eplb", "plan", load, "--first-moe-layer", "1", "--json").stdout)
    assert first["layer_ids"] == list(range(1, 59))


def test_engine_format_without_layer_ids_is_refused(tmp_path, load):
    r = cli("eplb", "plan", load, *V3, "--out", tmp_path / "p.yaml")
    assert r.returncode == 2 and "pass --model" in r.stderr and not (tmp_path / "p.yaml").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--format", "trtllm", "--out", "p.json"], "trtllm plan is written to .yaml"),
        (["--format", "native", "--out", "p.pt"], "native plan is written to .json"),
        (["--format", "vllm", "--out", "p.json"], "'vllm' is not one of 'native', 'sglang', 'trtllm'"),
        (["--model", "deepseek-v3", "--first-moe-layer", "-1"], "'--first-moe-layer': must be 0.."),
        (["--model", "deepseek-v3", "--first-moe-layer", "10"], "row for decoder layer 67"),
    ],
)
def test_bad_plan_options(tmp_path, args, words):
    load = tmp_path / "load.npy"
    cli("eplb", "sample", "--out", load)
    r = runner.invoke(
        app, ["eplb", "plan", str(load), *[str(tmp_path / a) if a.startswith("p.") else a for a in args]]
    )
    assert r.exit_code == 2, r.output
    assert words in r.stderr and r.stderr.count("\n") == 1


def test_physical_slot_counts_are_refused(tmp_path):
    p = tmp_path / "slots.npy"
    np.save(p, np.ones((58, 288), dtype=np.int32))
    r = cli("eplb", "plan", p, "--model", "deepseek-v3")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "288 looks like physical slots (32 redundant)" in r.stderr


def test_wrong_row_count_for_the_model(tmp_path):
    p = tmp_path / "l.npy"
    np.save(p, np.ones((40, 256), dtype=np.int32))
    r = cli("eplb", "plan", p, "--model", "deepseek-v3")
    assert r.returncode == 2 and "40 rows; model deepseek-v3 has 58 MoE layers (3..60)" in r.stderr


@pytest.mark.parametrize(
    "fmt, name",
    [
        ("npy", "l.npy"),
        ("json", "l.json"),
        ("csv", "l.csv"),
        ("pt", "l.pt"),
        ("sglang", "dump.pt"),
        ("trtllm", "stats"),
        ("vllm", "window.pt"),
    ],
)
def test_samples_in_every_format_read_back(tmp_path, fmt, name):
    out = tmp_path / name
    r = cli("eplb", "sample", "--format", fmt, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    back = eplb.read_loads(out)
    rows = back.counts[3:] if fmt == "sglang" else back.counts
    assert (rows == eplb.sample_load()).all()
    if fmt in ("sglang", "trtllm"):
        assert back.layer_ids.tolist() == list(range(61) if fmt == "sglang" else range(3, 61))


@pytest.mark.parametrize("fmt, name", [("native", "p.json"), ("sglang", "p.pt"), ("trtllm", "p.yaml")])
def test_sample_plan(tmp_path, fmt, name):
    r = cli("eplb", "sample", "--kind", "plan", "--out", tmp_path / name)
    assert r.returncode == 0 and fmt in r.stdout
    p = eplb.read_plan(tmp_path / name, gpus=32, nodes=4, model="deepseek-v3")
    assert p.layer_ids.tolist() == list(range(3, 61)) and p.slots == 288


def test_sample_needs_a_format(tmp_path):
    r = cli("eplb", "sample", "--out", tmp_path / "stats")
    assert r.returncode == 2 and "pass --format" in r.stderr


def test_rebalance_keeps_an_sglang_plan(tmp_path):
    load, dump, plan = tmp_path / "load.npy", tmp_path / "dump.pt", tmp_path / "plan.pt"
    cli("eplb", "sample", "--format", "sglang", "--out", dump)
    cli("eplb", "sample", "--kind", "next-load", "--out", load)
    r = cli(
        "eplb",
        "plan",
        dump,
        "--model",
        "deepseek-v3",
        "--nodes",
        "4",
        "--gpus",
        "32",
        "--out",
        plan,
        "--policy",
        "deepseek",
    )
    assert (
        r.returncode == 0
        and "--init-expert-location" in r.stderr
        and "--ep-num-redundant-experts 32" in r.stderr
    )
    before = torch_load(plan)
    r = cli("eplb", "rebalance", "--load", load, "--current", plan, "--model", "deepseek-v3")
    assert r.returncode == 2 and "pass --gpus" in r.stderr
    r = cli(
        "eplb",
        "rebalance",
        "--load",
        load,
        "--current",
        plan,
        "--model",
        "deepseek-v3",
        "--gpus",
        "32",
        "--nodes",
        "4",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["replaced"] and out["format"] == "sglang" and "--init-expert-location" in out["next_step"]
    after = torch_load(plan)
    assert after.shape == before.shape == (61, 288), "still SGLang's table: a row per decoder layer"
    assert (after[:3] == before[:3]).all() and (after[3:] != before[3:]).any()


def torch_load(path):
    import torch

    return torch.load(path, weights_only=True)["physical_to_logical_map"].numpy()


def test_evaluate_leaves_out_dense_layers(tmp_path):
    dump, plan = tmp_path / "dump.pt", tmp_path / "plan.json"
    cli("eplb", "sample", "--format", "sglang", "--out", dump)
    cli("eplb", "plan", dump, "--nodes", "4", "--gpus", "32", "--slots", "288", "--out", plan)
    r = json.loads(cli("eplb", "evaluate", plan, dump, "--json").stdout)
    assert r["layers"] == 61 and r["loaded_layers"] == 58 and r["per_layer"][:3] == [None] * 3
    assert r["overall"] == pytest.approx(np.mean(r["per_layer"][3:]))
    assert r["worst_layer"] >= 3


@pytest.mark.parametrize("args", [["eplb", "plan", "--json"], ["eplb", "plan"]])
def test_output_into_a_closed_pipe_exits_0(args):
    """`flyer ... | head -c 0`: the reader leaves at once; not an error of ours (exit 0, no message)."""
    import subprocess

    from tests.conftest import flyer_exe

    script = f"{flyer_exe()} {' '.join(args)} | head -c 0; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "error" not in r.stderr


def test_help_shows_brackets():
    r = flyer("eplb", "plan", "--help")
    assert "[layers, experts]" in r.stdout


def _bad_inputs(tmp_path):
    """(args, words) of every bad engine input of issue 11; each must exit 2 with one line."""
    import safetensors.numpy
    import torch

    d = tmp_path
    torch.save({"records": [{"global_physical_count": torch.ones(2, 4)}]}, d / "no-map.pt")
    torch.save(torch.ones(2, 3, 4), d / "window-alone.pt")
    torch.save({"something": 1}, d / "unknown.pt")
    torch.save([1, 2], d / "plan-list.pt")
    (d / "stats").mkdir()
    (d / "stats" / "meta_info.json").write_text('{"num_experts": 4}')
    tensors = {"0_3": np.ones(4, np.int64), "0_4": np.ones(4, np.int64), "1_3": np.ones(4, np.int64)}
    (d / "stats" / "rank0.safetensors").write_bytes(safetensors.numpy.save(tensors))
    (d / "bad-meta").mkdir()
    (d / "bad-meta" / "meta_info.json").write_text('{"num_experts": "many"}')
    np.save(d / "dense-hot.npy", np.ones((61, 256), np.float32))
    (d / "plan.yaml").write_text("initial_global_assignments: {x: [1]}\nnum_slots: 1\n")
    np.save(d / "l.npy", np.ones((4, 4), np.float32))
    return [
        (["eplb", "plan", d / "no-map.pt"], "last_physical_to_logical_map"),
        (["eplb", "plan", d / "window-alone.pt"], "a vLLM load window needs its map"),
        (["eplb", "plan", d / "unknown.pt"], "found keys ['something']"),
        (["eplb", "plan", d / "stats"], "missing, e.g. 1_4"),
        (["eplb", "plan", d / "bad-meta"], "num_experts: expected a positive integer"),
        (["eplb", "plan", d / "dense-hot.npy", "--model", "deepseek-v3"], "tokens in decoder layer 0"),
        (["eplb", "evaluate", d / "plan.yaml", d / "l.npy", "--gpus", "1"], "layer ids"),
        (["eplb", "evaluate", d / "plan-list.pt", d / "l.npy", "--gpus", "1"], "physical_to_logical_map"),
        (["eplb", "sample", "--kind", "trace", "--out", d / "x.npy"], "'trace' is not one of 'load'"),
        (["eplb", "sample", "--format", "xlsx", "--out", d / "x.npy"], "'xlsx' is not one of 'npy'"),
        (["eplb", "sample", "--kind", "plan", "--format", "vllm", "--out", d / "x.json"], "unknown plan"),
    ]


def test_every_bad_engine_input_exits_2_in_one_line(tmp_path):
    for args, words in _bad_inputs(tmp_path):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr, r.stdout)
        assert r.stderr.startswith("flyer: error: ") and r.stderr.count("\n") == 1, r.stderr
        assert words in r.stderr, (words, r.stderr)
