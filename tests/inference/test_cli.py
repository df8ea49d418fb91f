"""`flyer inference` as a user runs it: one JSON document with --json, exit 2 and one line on bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fireflyer.cli import app
from tests.conftest import run_flyer

runner = CliRunner()
DAY = [
    "--input-tokens",
    "608e9",
    "--cache-hit-tokens",
    "342e9",
    "--output-tokens",
    "168e9",
    "--nodes",
    "226.75",
]


def flyer(*args: str):
    return runner.invoke(app, ["inference", *args])


def test_cost_json_installed():
    r = run_flyer("inference", "cost", *DAY, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["cost_usd"], data["revenue_usd"]) == (87_072, 562_100)
    assert round(data["margin_pct"], 1) == 545.6


def test_cost_table_fits_80_columns():
    r = run_flyer("inference", "cost", *DAY, env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert "$87,072" in r.stdout and "$562,100" in r.stdout and "545.6%" in r.stdout and "562,027" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_custom_prices():
    r = flyer("cost", *DAY, "--price-hit", "0.07", "--price-miss", "0.27", "--price-out", "1.1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["revenue_usd"] == 23_940 + 71_820 + 184_800


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_estimate_json(phase):
    r = flyer("estimate", "--deployment", f"deepseek-v3-{phase}", "--json")
    assert r.exit_code == 0, r.output
    e = json.loads(r.stdout)
    assert e["phase"] == phase and e["tokens_per_s_per_node"] > 0
    assert {la["layer"] for la in e["layers"]} == {"dense", "moe", "head"}
    assert e["published"]["tokens_per_s_per_node"] == (73_700 if phase == "prefill" else 14_800)
    assert (e["tokens_per_s_per_user"] is None) == (phase == "prefill")


def test_estimate_table_and_frontier_fit_80_columns():
    r = run_flyer(
        "inference", "estimate", "--deployment", "deepseek-v3-decode", "--frontier", env={"COLUMNS": "80"}
    )
    assert r.returncode == 0, r.stderr
    assert "decode frontier" in r.stdout and "14,800" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_estimate_other_hardware_and_slo():
    r = flyer(
        "estimate",
        "--deployment",
        "deepseek-v3-decode",
        "--hardware",
        "h200-sxm",
        "--speed-slo",
        "30",
        "--json",
    )
    assert r.exit_code == 0, r.output
    e = json.loads(r.stdout)
    assert e["hardware"] == "h200-sxm" and e["tokens_per_s_per_user"] >= 30


def test_plan_json():
    r = flyer("plan", "--tokens-per-day", "608e9", "168e9", "--diurnal", "--json")
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert len(p["hours"]) == 24 and p["peak_nodes"] >= p["average_nodes"] > 0
    assert p["node_hours"] == sum(h["nodes"] for h in p["hours"])
    assert all(h["prefill_nodes"] % 4 == 0 and h["decode_nodes"] % 18 == 0 for h in p["hours"])
    assert p["published_peak_nodes"] == 278 and p["published_average_nodes"] == 226.75
    assert p["cost"]["cost_usd"] == pytest.approx(p["node_hours"] * 8 * 2)


def test_plan_load_curve(tmp_path):
    curve = tmp_path / "curve.json"
    curve.write_text(json.dumps([0] * 12 + [1] * 12))
    r = flyer("plan", "--tokens-per-day", "608e9", "168e9", "--load-curve", str(curve), "--json")
    assert r.exit_code == 0, r.output
    hours = json.loads(r.stdout)["hours"]
    assert [h["nodes"] for h in hours[:12]] == [0] * 12 and hours[12]["share"] == pytest.approx(1 / 12)


@pytest.fixture
def user_profiles(tmp_path, monkeypatch):
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "tiny-ep.yaml").write_text(
        "kind: deployment\nname: tiny-ep\nhardware: h800-sxm\nmodel: deepseek-v3\nphase: decode\nnodes: 1\n"
        "gpus_per_node: 8\nep: 8\nrouted_experts_per_gpu: 2\nsources: {layout: a test}\n"
    )
    monkeypatch.setenv("FLYER_PROFILES", str(d))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return d


BAD = [
    (["cost", *DAY[:2], "--cache-hit-tokens", "700e9", *DAY[4:]], "cache_hit_tokens"),
    (["cost", "--input-tokens", "-1", *DAY[2:]], "--input-tokens"),
    (["cost", "--input-tokens", "nan", *DAY[2:]], "--input-tokens"),
    (["cost", *DAY, "--price-hit", "nan", "--price-miss", "1", "--price-out", "1"], "--price-hit"),
    (["cost", *DAY, "--price-hit", "-1", "--price-miss", "1", "--price-out", "1"], "--price-hit"),
    (["cost", *DAY, "--price-hit", "0.1"], "prices"),
    (["cost", *DAY, "--prices", "nosuch"], "prices"),
    (["estimate", "--deployment", "deepseek-v3-decode", "--speed-slo", "1000"], "speed_slo"),
    (["estimate", "--deployment", "deepseek-v3-decode", "--batch", "100000"], "batch"),
    (["estimate", "--deployment", "deepseek-v3-prefill", "--frontier"], "frontier"),
    (["estimate", "--deployment", "deepseek-v3-decode", "--hardware", "a100-sxm-80g"], "FP8"),
    (["estimate", "--deployment", "deepseek-v3-pretrain"], "phase"),
    (["estimate", "--deployment", "tiny-ep"], "16 slots"),
    (["estimate", "--deployment", "deepseek-v3-decode", "--cache-hit", "1.5"], "--cache-hit"),
    (["plan", "--tokens-per-day", "608e9", "nan"], "output_tokens"),
    (["plan", "--tokens-per-day", "608e9", "168e9", "--speed-slo", "1000"], "speed_slo"),
]


@pytest.mark.parametrize("args, named", BAD, ids=lambda x: " ".join(x) if isinstance(x, list) else x)
def test_bad_input_exits_2_with_one_line(args, named, user_profiles):
    r = flyer(*args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    "flag, content",
    [
        ("--kernels", "{not json"),
        ("--kernels", '{"schema": "fireflyer.kernels.bench/1", "suite": {}}'),
        ("--overlap", '{"ranks": []}'),
        ("--overlap", "[1, 2"),
    ],
)
def test_malformed_measurement_file_exits_2(tmp_path, flag, content):
    f = tmp_path / "m.json"
    f.write_text(content)
    r = flyer("estimate", "--deployment", "deepseek-v3-decode", flag, str(f))
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and str(f) in r.stderr


def test_bad_load_curve(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("[1, 2, 3]\n")
    r = flyer("plan", "--tokens-per-day", "608e9", "168e9", "--load-curve", str(f))
    assert r.exit_code == 2 and "24 numbers" in r.stderr
