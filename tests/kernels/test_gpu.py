"""The kernel backends on a CUDA GPU: the stock torch paths everywhere, FlashMLA, DeepGEMM and DeepEP where
installed. Marked `gpu` and skipped, with the reason, where there is no CUDA device (or no library)."""

from __future__ import annotations

import json

import pytest

from fireflyer.kernels import EpCase, GemmCase, MlaCase, backends, gemm, mla
from tests.conftest import requires_cuda, run_flyer

MLA_CASES = [
    MlaCase(b=4, s_k=700, h_q=64, s_q=2, varlen=True, zero_lengths=True),
    MlaCase(b=3, s_k=600, h_q=128, s_q=1, varlen=True),
    MlaCase(b=3, s_k=900, h_q=64, s_q=2, mode="sparse_fp8", topk=512, varlen=True),
]
GEMM_CASES = [
    GemmCase(m=64, n=2112, k=7168),
    GemmCase(layout="contiguous", groups=4, m=256, n=1024, k=2048),
    GemmCase(layout="masked", groups=4, m=256, expected_m=128, n=1024, k=2048),
]


def _need(op: str, backend: str) -> None:
    a = backends.availability(op, backend, "cuda")
    if not a.available:
        pytest.skip(f"{backend}: {a.reason}")


def _run_mla(case: MlaCase, backend: str) -> None:
    inp = mla.make_inputs(case, "cuda")
    try:
        fn = mla.PREPARE[backend](inp)
    except backends.Unsupported as e:
        pytest.skip(str(e))
    got = mla.check(fn(), mla.reference(inp), case)
    assert got.correct, got.detail


def _run_gemm(case: GemmCase, backend: str) -> None:
    import torch

    inp = gemm.make_inputs(case, "cuda", ue8m0=gemm.wants_ue8m0(torch.device("cuda")))
    got = gemm.check(gemm.PREPARE[backend](inp)(), gemm.truth(inp), inp)
    assert got.correct, (got.detail, inp.notes)


@requires_cuda
@pytest.mark.parametrize("case", MLA_CASES, ids=lambda c: c.mode)
@pytest.mark.parametrize("backend", ["reference", "torch", "flash_mla"])
def test_mla_on_cuda(case, backend):
    _need("mla", backend)
    _run_mla(case, backend)


@requires_cuda
@pytest.mark.parametrize("case", GEMM_CASES, ids=lambda c: c.layout)
@pytest.mark.parametrize("backend", ["reference", "torch", "deep_gemm"])
def test_gemm_on_cuda(case, backend):
    _need("gemm", backend)
    _run_gemm(case, backend)


@requires_cuda
@pytest.mark.multi_gpu
@pytest.mark.parametrize("backend", ["torch", "deep_ep"])
def test_ep_on_nccl(backend):
    import torch

    from fireflyer.cluster import launch_local
    from fireflyer.kernels import ep

    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA GPUs")
    _need("ep", backend)
    cases = [
        EpCase(tokens=256, hidden=7168, topk=8, experts=32),
        EpCase(tokens=256, hidden=7168, topk=8, experts=32, fp8=True),
        EpCase(tokens=64, hidden=7168, topk=8, experts=32, mode="low_latency", fp8=True),
    ]
    results = launch_local(ep.run_rank, 2, cases, [backend], {"warmup": 1, "samples": 3}, backend="nccl")
    for per_case in results:
        for (r,) in per_case:
            if r.skipped:
                pytest.skip(r.skipped)
            assert r.correct and r.counts_ok, r


@requires_cuda
def test_bench_on_cuda(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: gpu\ncases:\n"
        "  - {op: mla, b: 8, s_k: 1024, h_q: 128, varlen: true}\n"
        "  - {op: gemm, m: 128, n: 2112, k: 7168}\n"
    )
    res = run_flyer("kernels", "bench", "--device", "cuda", "--suite", str(suite), "--json", timeout=600)
    assert res.returncode in (0, 1), res.stderr
    data = json.loads(res.stdout)
    assert data["env"]["device"] == "cuda" and data["env"]["cuda"]
    for r in data["results"]:
        assert r["l2_flushed"] and r["samples"] >= 30
        if r["backend"] in ("reference", "torch"):
            assert r["correct"]
        if data["roof"] is not None and r["pct_peak_bw"] is not None:
            assert 0 < r["pct_peak_bw"] <= 100
