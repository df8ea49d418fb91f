"""Results documents and compare: matching, thresholds, devices, malformed files."""

from __future__ import annotations

import json

import pytest

from fireflyer.errors import InputError
from fireflyer.kernels import results


def result(median: float | None = 100.0, *, backend="torch", device="cpu (X, 2 threads)", correct=True, m=64):
    return {
        "op": "gemm",
        "backend": backend,
        "device": device,
        "shape": {"m": m, "n": 256, "k": 512, "layout": "dense"},
        "median_us": median,
        "p20_us": median,
        "p80_us": median,
        "flops": 1.0,
        "bytes": 1.0,
        "tflops": 1.0,
        "gbps": 1.0,
        "pct_peak_flops": 1.0,
        "pct_peak_bw": 1.0,
        "correct": correct,
        "error_metric": 1e-4,
        "error_kind": "calc_diff",
    }


def document(*rows, device_name="X"):
    return {
        "schema": results.SCHEMA,
        "suite": {"name": "t"},
        "env": {"device_name": device_name},
        "roof": None,
        "results": list(rows),
    }


def report(*rows, **kw) -> results.Report:
    from fireflyer.io import convert

    return convert(document(*rows, **kw), results.Report)


def test_compare_statuses():
    base = report(result(100), result(100, backend="reference"), result(100, m=128))
    cur = report(result(107), result(90, backend="reference"), result(100, m=256))
    c = results.compare(base, cur, threshold_pct=5)
    status = {(r.backend, r.shape["m"]): r.status for r in c.rows}
    assert status == {
        ("torch", 64): "slower",
        ("reference", 64): "faster",
        ("torch", 256): "new",
        ("torch", 128): "missing",
    }
    assert [r.backend for r in c.regressions] == ["torch"]
    assert results.compare(base, cur, threshold_pct=10).regressions == []


def test_incorrect_current_is_a_regression_and_devices_must_match():
    base = report(result(100))
    assert results.compare(base, report(result(None, correct=False))).regressions[0].status == "incorrect"
    other = report(result(300, device="cpu (X, 1 threads)"), device_name="Y")
    c = results.compare(base, other)
    assert [r.status for r in c.rows] == ["skipped"] and not c.regressions
    assert any("different devices" in n for n in c.notes)


def test_parse_threshold():
    assert results.parse_threshold("5%") == 5.0
    assert results.parse_threshold(" 2.5 ") == 2.5
    for bad in ("abc", "-1%", "inf", "nan%"):
        with pytest.raises(InputError):
            results.parse_threshold(bad)


def test_load_refuses_malformed_files(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document(result())))
    assert results.load(good).results[0].median_us == 100
    for name, text, field in [
        ("syntax.json", "{not json", None),
        ("schema.json", json.dumps({**document(), "schema": "other/1"}), "schema"),
        ("field.json", json.dumps(document({**result(), "median_us": "fast"})), "results[0].median_us"),
        (
            "missing.json",
            json.dumps(document({k: v for k, v in result().items() if k != "op"})),
            "results[0].op",
        ),
    ]:
        p = tmp_path / name
        p.write_text(text)
        with pytest.raises(InputError) as e:
            results.load(p)
        assert e.value.file == str(p)
        if field:
            assert e.value.field == field
