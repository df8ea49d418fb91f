"""`flyer pipeline` as a user runs it: the installed `flyer`, and Typer's CliRunner on the same app."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from fireflyer.cli import app
from tests.conftest import run_flyer, run_json

runner = CliRunner()


def test_simulate_defaults_json():
    d = run_json("pipeline", "simulate")
    assert (d["schedule"], d["ranks"], d["microbatches"], d["makespan"], d["bubble"]) == (
        "dualpipe",
        8,
        20,
        66,
        6,
    )
    assert d["formula_bubble"] == 6 and d["bubble_fraction"] == pytest.approx(6 / 66)
    assert [r["peak_activations"] for r in d["per_rank"]] == [9] * 8
    assert set(d["per_rank"][0]) == {"rank", "busy", "idle", "peak_activations", "ops"}


def test_simulate_golden_peers_json():
    assert run_json("pipeline", "simulate", "-s", "1f1b")["makespan"] == 81
    zb = run_json("pipeline", "simulate", "-s", "zb1p")
    assert (zb["makespan"], zb["bubble"]) == (67, 7)
    assert run_json("pipeline", "simulate", "-s", "zbv", "-p", "4", "-n", "8")["formula_bubble"] is None


@pytest.mark.parametrize(
    "args,needle",
    [
        (["-s", "dualpipe", "-p", "7"], "even number of ranks"),
        (["-s", "dualpipe", "-n", "19"], "even number of microbatches"),
        (["-s", "dualpipe", "-p", "8", "-n", "10"], "microbatches >= 2 * ranks"),
        (["--f-time", "-1"], "must be positive"),
        (["--b-time", "0"], "must be positive"),
        (["--w-time", "3"], "must not exceed B"),
        (["-s", "pipedream"], "is not one of"),
        (["-s", "1f1b", "-p", "0"], "at least 1"),
        (["--f-time", "abc"], "expected a number"),
    ],
)
def test_invalid_input_exits_2_with_one_line(args, needle):
    res = run_flyer("pipeline", "simulate", *args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and res.stdout == ""


@pytest.mark.parametrize("args", [["-s", "dualpipe", "-p", "7"], ["--w-time", "5"], ["-s", "x"]])
def test_cli_runner_rejects_the_same(args):
    res = runner.invoke(app, ["pipeline", "simulate", *args])
    assert res.exit_code == 2


def test_cli_runner_simulate_and_compare():
    res = runner.invoke(app, ["pipeline", "simulate", "-s", "dualpipev", "-p", "3", "-n", "7", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["ranks"] == 3
    res = runner.invoke(app, ["pipeline", "compare", "--json"])
    rows = {r["schedule"]: r for r in json.loads(res.stdout)["schedules"]}
    assert rows["dualpipe"]["makespan"] == 66 and rows["zb1p"]["bubble"] == 7


def test_timeline_svg_and_chrome_trace(tmp_path):
    trace, pic = tmp_path / "t.json", tmp_path / "t.svg"
    res = run_flyer(
        "pipeline",
        "simulate",
        "-p",
        "4",
        "-n",
        "8",
        "--timeline",
        "--chrome-trace",
        str(trace),
        "--svg",
        str(pic),
    )
    assert res.returncode == 0, res.stderr
    assert "rank 3" in res.stdout and "legend" in res.stdout
    doc = json.loads(trace.read_text())
    events = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    sim = run_json("pipeline", "simulate", "-p", "4", "-n", "8")
    assert len(events) == sum(r["ops"] for r in sim["per_rank"])
    for r in sim["per_rank"]:
        assert sum(e["dur"] for e in events if e["pid"] == r["rank"]) / 1000 == pytest.approx(r["busy"])
    assert pic.read_text().startswith("<svg")


def test_compare_human_says_when_formula_differs():
    res = run_flyer("pipeline", "compare", "--w-time", "0.2", "--fb-time", "2.2", "-n", "32")
    assert res.returncode == 0
    assert "differs from the simulated" in res.stdout


def test_sweep_csv_and_json(tmp_path):
    out = tmp_path / "s.csv"
    d = run_json(
        "pipeline", "sweep", "--schedules", "dualpipe,zb1p", "-p", "2:8:2", "-n", "16,32", "--out", str(out)
    )
    assert d["configs"] == 16 and d["errors"] == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 16 and rows[0]["schedule"] == "dualpipe"
    rows = run_json("pipeline", "sweep", "--schedules", "dualpipe", "-p", "3,4", "-n", "8")
    assert rows[0]["error"] and rows[1]["error"] is None
    res = run_flyer("pipeline", "sweep", "--schedules", "nope")
    assert res.returncode == 2


def test_deterministic():
    assert (
        run_flyer("pipeline", "compare", "--json").stdout == run_flyer("pipeline", "compare", "--json").stdout
    )


def test_measure_json_feeds_the_simulator():
    d = run_json(
        "pipeline",
        "measure",
        "--hidden",
        "64",
        "--tokens",
        "32",
        "--experts",
        "4",
        "--repeats",
        "2",
        "--sample-seconds",
        "0",
        "-s",
        "dualpipe",
        "-p",
        "4",
        "-n",
        "8",
    )
    m, sim = d["measured"], d["simulated"]
    assert m["model"] == "deepseek-v3" and m["dims"]["hidden"] == 64 and m["dims"]["experts"] == 4
    assert all(m[k] > 0 for k in ("f", "b", "b_input", "w")) and m["w"] <= m["b"]
    assert sim["schedule"] == "dualpipe" and sim["ranks"] == 4 and sim["makespan"] > 0
    assert [r["peak_activations"] for r in sim["per_rank"]] == [5] * 4
    assert m["samples"] == 2 and m["sample_seconds"] == 0 and m["fresh_process"]


@pytest.mark.parametrize(
    "args", [["--hidden", "0"], ["--model", "no-such-model"], ["-s", "dualpipe", "-p", "3"]]
)
def test_measure_bad_input_exits_2(args):
    r = run_flyer("pipeline", "measure", "--repeats", "1", *args)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
