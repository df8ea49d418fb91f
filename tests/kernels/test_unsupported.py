"""Shapes a vendor library refuses are marked unsupported for that backend, with the library's reason, and
the run goes on; tables read whole at 80 columns."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from fireflyer.cli import app
from fireflyer.kernels import backends, ep, harness, mla, planning, suites
from fireflyer.kernels.cases import EpCase, MlaCase


def test_the_vendors_shape_rules():
    quick = suites.load("quick")
    sparse = next(c for c in quick.cases if c.op == "mla" and c.mode == "sparse_fp8")
    assert (
        backends.unsupported(sparse, "flash_mla") == "FlashMLA's sparse decoding takes h_q 64 or 128, not 32"
    )
    low = next(c for c in quick.cases if c.op == "ep" and c.mode == "low_latency")
    assert backends.unsupported(low, "deep_ep").endswith("7168, 8192; not 512")
    assert backends.unsupported(low, "torch") is None and backends.unsupported(sparse, "reference") is None
    paged = MlaCase(b=1, s_k=64, h_q=16, block_size=32)
    assert "blocks of 64 tokens, not 32" in backends.unsupported(paged, "flash_mla")
    for c in suites.load("default").cases:  # the anchors' own shapes all run on their library
        assert (
            backends.unsupported(c, {"mla": "flash_mla", "gemm": "deep_gemm", "ep": "deep_ep"}[c.op]) is None
        )


def test_an_unsupported_ep_case_is_skipped_by_every_rank_before_any_collective():
    case = EpCase(mode="low_latency", tokens=4, hidden=512, topk=2, experts=4)
    got = ep.run_case(case, "deep_ep", 0, 2, torch.device("cpu"), threads=1, warmup=1, samples=30)
    assert got.skipped and "not 512" in got.skipped and not got.correct


SUITE = """name: vendor
cases:
  - {op: mla, b: 2, s_k: 128, h_q: 8, s_q: 2, varlen: true}
  - {op: mla, mode: sparse_fp8, b: 2, s_k: 128, h_q: 8, topk: 64}
  - {op: mla, mode: sparse_fp8, b: 1, s_k: 128, h_q: 64, topk: 64}
"""


@pytest.fixture
def fake_flash_mla(monkeypatch):
    """flash_mla 'installed': runs what FlashMLA runs (as the reference), raises as FlashMLA does else."""
    real = harness.availability

    def available(op, b, device="cpu"):
        return backends.Availability(op, b, True) if b == "flash_mla" else real(op, b, device)

    monkeypatch.setattr(harness, "availability", available)
    monkeypatch.setattr(planning, "availability", available)

    def prepare(inp):
        if inp.case.mode == "sparse_fp8" and inp.case.h_q not in (64, 128):
            raise RuntimeError(f"Unsupported h_q: {inp.case.h_q}")  # NOTE: what the library itself does
        return lambda: mla.reference(inp)

    monkeypatch.setitem(mla.PREPARE, "flash_mla", prepare)


def test_bench_marks_the_case_unsupported_and_goes_on(tmp_path, cache_home, fake_flash_mla, monkeypatch):
    p = tmp_path / "vendor.yaml"
    p.write_text(SUITE)
    args = ["kernels", "bench", "--suite", str(p), "--backend", "reference,flash_mla"]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {(r["backend"], r["shape"]["h_q"]) for r in data["results"]} == {
        ("reference", 8), ("reference", 64), ("flash_mla", 8), ("flash_mla", 64)
    } and len(data["results"]) == 5  # fmt: skip
    (skip,) = data["skipped"]
    assert skip["status"] == "unsupported" and skip["backend"] == "flash_mla" and skip["shape"]["h_q"] == 8
    assert skip["reason"] == "FlashMLA's sparse decoding takes h_q 64 or 128, not 8"
    monkeypatch.setenv("COLUMNS", "80")
    res = CliRunner().invoke(app, args)
    lines = res.stdout.splitlines()
    assert res.exit_code == 0 and max(map(len, lines)) <= 80
    row = next(line for line in lines if "unsupported" in line)
    assert row.split()[:2] == ["mla", "flash_mla"] and row.rstrip().endswith("unsupported¹")
    assert lines.count("unsupported¹ FlashMLA's sparse decoding takes h_q 64 or 128, not 8") == 1
    assert sum("correct" in line for line in lines) == 1


def test_a_library_error_on_one_case_does_not_end_the_run(tmp_path, cache_home, fake_flash_mla, monkeypatch):
    monkeypatch.setattr(backends, "unsupported", lambda case, backend: None)  # a rule we do not know yet
    monkeypatch.setattr(harness, "unsupported", lambda case, backend: None)
    p = tmp_path / "vendor.yaml"
    p.write_text(SUITE)
    res = CliRunner().invoke(
        app, ["kernels", "bench", "mla", "--suite", str(p), "--backend", "flash_mla", "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["results"]) == 2
    assert [s["reason"] for s in data["skipped"]] == ["flash_mla refused it: Unsupported h_q: 8"]


def _doc(device: str, shapes: list[dict]) -> dict:
    row = {
        "op": "gemm", "backend": "torch", "device": device, "median_us": 123456.0, "p20_us": 100000.0,
        "p80_us": 2345678.0, "flops": 1.0, "bytes": 1.0, "tflops": 1.0, "gbps": 1.0, "pct_peak_flops": 1.0,
        "pct_peak_bw": 1.0, "correct": True, "error_metric": 1e-4, "error_kind": "calc_diff",
    }  # fmt: skip
    return {
        "schema": "fireflyer.kernels.bench/1",
        "suite": {"name": "s"},
        "env": {"device_name": device, "device_described": device, "torch": "2"},
        "roof": None,
        "results": [{**row, "shape": s} for s in shapes],
    }


def test_compare_and_bench_tables_read_whole_at_80_columns(tmp_path, monkeypatch):
    shapes = [
        {"m": m, "n": 4096, "k": 7168, "layout": "masked", "groups": 4, "expected_m": 256}
        for m in (256, 512, 1024)
    ]
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    base.write_text(json.dumps(_doc("cpu (Intel(R) Xeon(R) Platinum 8480+, 112 threads)", shapes)))
    cur.write_text(json.dumps(_doc("cpu (AMD EPYC 9654 96-Core Processor, 192 threads)", shapes)))
    monkeypatch.setenv("COLUMNS", "80")
    res = CliRunner().invoke(app, ["kernels", "compare", str(base), str(cur), "--allow-missing"])
    lines = res.stdout.splitlines()
    assert res.exit_code == 0, res.output
    assert max(map(len, lines)) <= 80
    assert sum("devices differ" in line for line in lines) == 1  # the note once, not on every row
    assert [line.split()[-1] for line in lines if line.startswith(" gemm")] == ["skipped¹"] * 3
    res = CliRunner().invoke(app, ["kernels", "compare", str(base), str(cur), "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["counts"] == {"skipped": 3}
