"""`flyer kernels` as a user runs it: list, bench on a small suite, compare's exit codes, and every bad
input exiting 2 with one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fireflyer import host
from fireflyer.cli import app
from fireflyer.kernels import backends, results, rooflines
from tests.conftest import cuda_available, run_flyer, run_json

from .conftest import write_roof

FIELDS = {
    "op", "backend", "device", "shape", "median_us", "p20_us", "p80_us", "flops", "bytes", "tflops", "gbps",
    "pct_peak_flops", "pct_peak_bw", "correct", "error_metric",
}  # fmt: skip
SMALL = """name: small
cases:
  - {op: mla, b: 2, s_k: 128, h_q: 8, s_q: 2, varlen: true}
  - {op: mla, mode: sparse_fp8, b: 2, s_k: 128, h_q: 8, topk: 64}
  - {op: gemm, layout: masked, groups: 2, m: 64, n: 128, k: 256}
  - {op: ep, tokens: 16, hidden: 128, topk: 2, experts: 4}
"""


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return p


def env(cache_home) -> dict:
    return {"XDG_CACHE_HOME": str(cache_home)}


def test_list():
    data = run_json("kernels", "list", "--device", "cpu")
    rows = {(r["op"], r["backend"]): r for r in data["backends"]}
    assert set(rows) == {(op, b) for op in ("mla", "gemm", "ep") for b in backends.BACKENDS[op]}
    assert all(rows[(op, b)]["available"] for op in ("mla", "gemm", "ep") for b in ("reference", "torch"))
    for vendor in ("flash_mla", "deep_gemm", "deep_ep"):
        r = rows[(backends.VENDORS[vendor].op, vendor)]
        assert not r["available"] and r["reason"]  # on a CPU run, never available, always with the reason


def test_bench_small_suite(small, cache_home, tmp_path):
    out = tmp_path / "r.json"
    res = run_flyer(
        "kernels", "bench", "--suite", str(small), "--out", str(out), "--json", env=env(cache_home)
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert json.loads(out.read_text()) == data
    rows = data["results"]
    assert {(r["op"], r["backend"]) for r in rows} == {
        (op, b) for op in ("mla", "gemm", "ep") for b in ("reference", "torch")
    }
    assert len(rows) == 2 * 2 + 2 + 2 * 2  # ep: dispatch and combine
    for r in rows:
        assert FIELDS <= set(r) and r["correct"] and r["samples"] >= 30 and r["median_us"] > 0
        assert r["p20_us"] <= r["median_us"] <= r["p80_us"]
        assert r["gbps"] > 0 and 0 < r["pct_peak_bw"] < 100
        if r["op"] != "ep":
            assert r["tflops"] > 0 and 0 < r["pct_peak_flops"] < 100 and r["threads"] >= 1
    assert {r["shape"]["phase"] for r in rows if r["op"] == "ep"} == {"dispatch", "combine"}
    assert {s["backend"] for s in data["skipped"]} == {"flash_mla", "deep_gemm", "deep_ep"}
    for key in ("torch", "cuda", "driver", "device_name", "vendor", "threads"):
        assert key in data["env"]
    assert data["roof"]["profile"] == "test-cpu"
    # the human table, from the same run's file
    res = run_flyer("kernels", "compare", str(out), str(out), env=env(cache_home))
    assert res.returncode == 0 and "same" in res.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["bench", "conv"], "unknown operation 'conv'"),
        (["bench", "--backend", "nope"], "unknown backend 'nope'"),
        (["bench", "mla", "--backend", "deep_gemm"], "runs none of the operations"),
        (["bench", "mla", "--backend", "flash_mla", "--device", "cpu"], "flash_mla cannot run mla here"),
        (["bench", "--quick", "--suite", "default"], "not both"),
        (
            ["bench", "ep", "--nproc", "3", "--quick"],
            "do not spread evenly over 3 ranks"
            if host.threads_available() >= 3
            else "time-share the 2 cores",
        ),
        (["bench", "--threads", "99999999999", "--quick"], "must be 1.."),
        (["bench", "--threads", "0", "--quick"], "must be 1.."),
        (["bench", "ep", "--nproc", "-1", "--quick"], "must be 1..4096, got -1"),
        (["bench", "--seed", "-1", "--quick"], "No such option"),
        (["bench", "--suite", "nonesuch"], "shipped: default, quick"),
        (["compare", "a.json", "b.json", "--threshold", "abc"], "expected a percentage"),
        (["compare", "missing.json", "missing2.json"], "not found"),
    ],
)
def test_bad_input_exits_2(args, words, cache_home):
    res = CliRunner().invoke(app, ["kernels", *args])
    assert res.exit_code == 2, res.output
    assert words in res.output and "Traceback" not in res.output


def test_bad_input_is_one_line_on_stderr(cache_home):
    for args in (["bench", "conv"], ["bench", "--backend", "flash_mla", "--device", "cpu"]):
        res = run_flyer("kernels", *args, env=env(cache_home))
        assert res.returncode == 2 and res.stdout == ""
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_a_case_whose_reference_does_not_fit_is_refused_before_work(tmp_path, cache_home, monkeypatch):
    # q, cache and out are 40 MiB; the reference's scores for 64 x 128 query rows over 32768 keys are
    # 1 GiB a copy (four copies at its peak), its naive float64 self-check 0.9 GiB more
    p = tmp_path / "big.yaml"
    p.write_text(
        "name: big\ncases:\n  - {op: gemm, m: 64, n: 128, k: 128}\n"
        "  - {op: mla, b: 1, s_k: 32768, h_q: 128, s_q: 64}\n"
    )
    monkeypatch.setattr(host, "memory_available", lambda: 4 * host.GiB)
    res = CliRunner().invoke(app, ["kernels", "bench", "--suite", str(p)])
    assert res.exit_code == 2, res.output
    assert "mla case (b=1, s_k=32768, h_q=128, s_q=64" in res.output
    assert "needs about 5.26 GiB" in res.output and "4 GiB available" in res.output


@pytest.mark.skipif(cuda_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_gpu_exits_2(cache_home):
    res = CliRunner().invoke(app, ["kernels", "bench", "--device", "cuda", "--quick"])
    assert res.exit_code == 2 and "no CUDA GPU" in res.output


@pytest.mark.parametrize(
    "body, words",
    [
        (
            "name: s\ncases:\n  - {op: gemm, m: 64, n: 128, k: 100}\n",
            "cases[0]: k 100 is not a multiple of 128",
        ),
        (
            "name: s\ncases:\n  - {op: gemm, layout: contiguous, groups: 2, m: 1, n: 128, k: 128,"
            " group_rows: [128, 100]}\n",
            "contiguous groups must be aligned to 128 rows",
        ),
        ("name: s\ncases:\n  - {op: mla, b: 1\n", "not valid YAML"),
        ("name: s\ncases:\n  - {op: mla, b: 1, s_k: 8, h_q: 8, h_q: 16}\n", "duplicate key"),
    ],
)
def test_malformed_suite_exits_2_naming_the_file(tmp_path, body, words, cache_home):
    p = tmp_path / "bad.yaml"
    p.write_text(body)
    res = CliRunner().invoke(app, ["kernels", "bench", "--suite", str(p)])
    assert res.exit_code == 2 and str(p) in res.output and words in res.output


def _doc(median, *, device="cpu (X, 2 threads)", device_name="X", correct=True):
    row = {
        "op": "gemm", "backend": "torch", "device": device, "shape": {"m": 64, "n": 256, "k": 512},
        "median_us": median, "p20_us": median, "p80_us": median, "flops": 1.0, "bytes": 1.0, "tflops": 1.0,
        "gbps": 1.0, "pct_peak_flops": 1.0, "pct_peak_bw": 1.0, "correct": correct, "error_metric": 1e-4,
        "error_kind": "calc_diff",
    }  # fmt: skip
    return {
        "schema": results.SCHEMA,
        "suite": {},
        "env": {"device_name": device_name},
        "roof": None,
        "results": [row],
    }


def test_compare_exit_codes(tmp_path):
    def write(name, doc):
        p = tmp_path / name
        p.write_text(json.dumps(doc))
        return str(p)

    base = write("base.json", _doc(100.0))
    slow = write("slow.json", _doc(112.0))
    res = run_flyer("kernels", "compare", base, slow)
    assert res.returncode == 1 and "gemm torch" in res.stderr and "+12.0%" in res.stderr
    assert run_flyer("kernels", "compare", base, slow, "--threshold", "15%").returncode == 0
    assert run_flyer("kernels", "compare", base, write("fast.json", _doc(50.0))).returncode == 0
    data = run_json("kernels", "compare", base, slow, "--threshold", "15")
    assert data["rows"][0]["status"] == "same" and data["rows"][0]["change_pct"] == pytest.approx(12.0)
    bad = write("bad.json", _doc(None, correct=False))
    res = run_flyer("kernels", "compare", base, bad)
    assert res.returncode == 1 and "failed its check" in res.stderr
    other = write("gpu.json", _doc(1.0, device="cuda (NVIDIA H800)", device_name="NVIDIA H800"))
    res = run_flyer("kernels", "compare", base, other)
    assert res.returncode == 1 and "different devices" in res.stderr and "no case was compared" in res.stderr
    assert run_flyer("kernels", "compare", base, other, "--allow-missing").returncode == 0
    broken = write("broken.json", {"schema": results.SCHEMA})
    res = run_flyer("kernels", "compare", base, broken)
    assert res.returncode == 2 and "broken.json" in res.stderr and "missing required field" in res.stderr


def test_compare_gate_fails_on_missing_cases_and_negative_medians(tmp_path):
    def write(name, doc):
        p = tmp_path / name
        p.write_text(json.dumps(doc))
        return str(p)

    two = _doc(100.0)
    two["results"].append({**two["results"][0], "shape": {"m": 128, "n": 256, "k": 512}})
    base, one = write("base.json", two), write("one.json", _doc(100.0))
    res = run_flyer("kernels", "compare", base, one)
    assert res.returncode == 1 and "1 baseline cases are missing from CURRENT" in res.stderr
    assert "m=128" in res.stderr and "--allow-missing" in res.stderr
    assert run_flyer("kernels", "compare", base, one, "--allow-missing").returncode == 0
    data = json.loads(run_flyer("kernels", "compare", base, one, "--json").stdout)
    assert data["counts"] == {"missing": 1, "same": 1}
    negative = write("negative.json", _doc(-5.0))
    res = run_flyer("kernels", "compare", base, negative)
    assert res.returncode == 2 and "negative.json" in res.stderr and "results[0].median_us" in res.stderr


def _tiny_roof(fresh: bool) -> rooflines.Roof:
    return rooflines.Roof("tiny", {"fp32": 1e-9}, 1e-6, 1e-6, "memory", "test", fresh=fresh)


def test_above_an_enforced_roof_fails_the_run(small, cache_home, monkeypatch):
    # a published (GPU) roof is a ceiling: a result above it is a bug
    monkeypatch.setattr(rooflines, "for_cpu", lambda **kw: _tiny_roof(True))
    res = CliRunner().invoke(app, ["kernels", "bench", "gemm", "--suite", str(small), "--backend", "torch"])
    assert res.exit_code == 1
    assert "% of the peak FLOP rate roof" in res.output


def test_above_a_measured_cpu_roof_is_reported_not_failed(small, cache_home, monkeypatch):
    calls = []

    def for_cpu(*, refresh=False):
        calls.append(refresh)
        return rooflines.Roof("busy", {"fp32": 1e-9}, 1e-6, 1e-6, "memory", "test", enforced=False)

    monkeypatch.setattr(rooflines, "for_cpu", for_cpu)
    res = CliRunner().invoke(
        app, ["kernels", "bench", "gemm", "--suite", str(small), "--backend", "torch", "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert calls == [False, True] and data["roof"]["enforced"] is False
    assert all(r["pct_peak_flops"] > 100 and r["correct"] for r in data["results"])
    assert any("reported, not failed" in n for n in data["notes"])


def test_the_cached_cpu_roof_is_raised_never_lowered(cache_home, monkeypatch):
    from fireflyer import profiles

    monkeypatch.setattr(
        rooflines, "measure_cpu", lambda threads: (0.01, 5.0, {"hbm_gbps": "m", "peak_tflops.fp32": "m"})
    )
    roof = rooflines.for_cpu(refresh=True)  # the cached roof (1000 TFLOP/s) is higher: kept
    assert roof.peak("fp32") == 1000.0 and roof.memory_gbps == 100000.0 and not roof.enforced
    assert profiles.load_file(profiles.cached_profile_path()).peak_tflops.fp32 == 1000.0
    write_roof(cache_home, fp32_tflops=0.001, gbps=1.0)  # measured while busy
    assert rooflines.for_cpu().peak("fp32") == 0.001  # the cache, not measured again
    roof = rooflines.for_cpu(refresh=True)
    assert roof.peak("fp32") == 0.01 and roof.memory_gbps == 5.0
    cached = profiles.load_file(profiles.cached_profile_path())
    assert cached.peak_tflops.fp32 == 0.01 and cached.hbm_gbps == 5.0 and cached.sources["hbm_gbps"] == "m"


def test_a_busy_cached_roof_is_measured_again(small, cache_home, monkeypatch):
    calls = []

    def for_cpu(*, refresh=False):
        calls.append(refresh)
        if refresh:
            return rooflines.Roof("again", {"fp32": 1e6}, 1e9, 1e9, "memory", "test", fresh=True)
        return _tiny_roof(False)

    monkeypatch.setattr(rooflines, "for_cpu", for_cpu)
    res = CliRunner().invoke(
        app, ["kernels", "bench", "gemm", "--suite", str(small), "--backend", "torch", "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert calls == [False, True] and data["roof"]["profile"] == "again"
    assert any("measured again" in n for n in data["notes"])
    assert all(r["pct_peak_flops"] < 100 for r in data["results"])


def test_cached_roof_is_written_once(tmp_path, monkeypatch):
    from fireflyer import profiles

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    write_roof(tmp_path, fp32_tflops=0.5)
    prof, path, fresh = profiles.detect_cached()
    assert not fresh and prof.peak_tflops.fp32 == 0.5 and path.is_relative_to(tmp_path)
    path.write_text("kind: hardware\n")  # broken: measured again
    monkeypatch.setattr("fireflyer.profiles.detection.detect", lambda quick: prof)
    again, _, fresh = profiles.detect_cached()
    assert fresh and profiles.load_file(path).peak_tflops.fp32 == 0.5
