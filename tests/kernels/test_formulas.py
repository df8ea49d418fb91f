"""The formulas reproduce the anchors' published pairs (FlashMLA, DeepGEMM, DeepEP)."""

from __future__ import annotations

import pytest

from fireflyer.kernels import formulas


def test_flashmla_worked_example():
    # b = 128, s_k = 4096, h_q = 128, s_q = 1: 1.4603e11 FLOP and 6.3963e8 bytes
    flops, nbytes = formulas.mla_dense(128 * 4096, b=128, s_q=1, h_q=128)
    assert flops == pytest.approx(1.4603e11, rel=1e-4)
    assert nbytes == pytest.approx(6.3963e8, rel=1e-4)


def test_flashmla_sparse_bytes_per_token():
    # every top-k slot computes; each distinct token is read once in 656 bytes; q and out in bf16
    flops, nbytes = formulas.mla_sparse_fp8(2048, 2048, b=1, s_q=1, h_q=128)
    assert nbytes == 2048 * 656 + 2 * 128 * (576 + 512)
    assert flops == 2 * 2048 * 128 * (576 + 512)


def flashmla_decode_count(b: int, s_q: int, h_q: int, d_qk: int, d_v: int, indices: list) -> tuple[int, int]:
    """FlashMLA tests/lib.py ``count_flop_and_mem_vol_for_decode`` transcribed (no topk_length, no extra
    cache): indices [b][s_q][topk]."""
    topk = len(indices[0][0])
    num_attended_tokens = b * s_q * topk
    num_retrieved_tokens = len({i for seq in indices for row in seq for i in row})  # indices.unique().numel()
    compute_flop = 2 * h_q * num_attended_tokens * (d_qk + d_v)
    kv_token_size = 656 if d_qk == 576 else 576
    mem_vol = sum([2 * b * s_q * h_q * d_qk, num_retrieved_tokens * kv_token_size, 2 * b * s_q * h_q * d_v])
    return compute_flop, mem_vol


def test_flashmla_sparse_count_matches_upstream_at_v32():
    from fireflyer.kernels import mla

    # DeepSeek-V3.2 decoding (the default suite's smallest batch): top-2048 of 32768, s_q 2, h_q 128
    case = mla.MlaCase(mode="sparse_fp8", b=2, s_k=32768, h_q=128, s_q=2, varlen=True, topk=2048)
    inp = mla.make_inputs(case)
    flops, nbytes = inp.cost()
    assert (flops, nbytes) == flashmla_decode_count(2, 2, 128, 576, 512, inp.indices.tolist())
    # the two query tokens of a sequence share about topk^2 / s_k of their tokens: read once, not twice
    valid = int((inp.indices >= 0).sum())
    assert 0.02 < (valid * 656 - (nbytes - 2 * 2 * 2 * 128 * 1088)) / (valid * 656) < 0.05


# DeepGEMM README (H800): M, N, K, TFLOPS, GB/s
DEEPGEMM_DENSE = [
    (64, 2112, 7168, 206, 1688), (64, 24576, 1536, 289, 2455), (64, 32768, 512, 219, 2143),
    (64, 7168, 16384, 336, 2668), (64, 4096, 7168, 287, 2320), (64, 7168, 2048, 295, 2470),
    (128, 2112, 7168, 352, 1509), (128, 24576, 1536, 535, 2448), (128, 32768, 512, 358, 2103),
    (128, 7168, 16384, 645, 2604), (128, 4096, 7168, 533, 2221), (128, 7168, 2048, 510, 2277),
    (4096, 2112, 7168, 1058, 527), (4096, 24576, 1536, 990, 786), (4096, 32768, 512, 590, 1232),
    (4096, 7168, 16384, 1358, 343), (4096, 4096, 7168, 1304, 500), (4096, 7168, 2048, 1025, 697),
]  # fmt: skip


@pytest.mark.parametrize("m, n, k, tflops, gbps", DEEPGEMM_DENSE)
def test_deepgemm_dense_table(m, n, k, tflops, gbps):
    flops, nbytes = formulas.gemm_fp8(m, n, k)
    t = flops / (tflops * 1e12)
    # TFLOPS are published rounded to integers: the pair agrees within that rounding
    assert nbytes / t / 1e9 == pytest.approx(gbps, rel=0.5 / tflops + 2e-3)


def test_deepgemm_issue_pair():
    # m = 64, n = 2112, k = 7168 at 206 TFLOPS corresponds to about 1688 GB/s
    flops, nbytes = formulas.gemm_fp8(64, 2112, 7168)
    assert nbytes / (flops / 206e12) / 1e9 == pytest.approx(1688, abs=2)


@pytest.mark.parametrize(
    "groups, m, n, k, tflops, gbps",
    [
        (4, 8192, 4096, 7168, 1297, 418),  # grouped contiguous table
        (8, 4096, 7168, 2048, 1093, 743),
        (1, 1024, 4096, 7168, 1233, 924),  # grouped masked table
        (4, 256, 7168, 2048, 815, 2047),
    ],
)
def test_deepgemm_grouped_tables(groups, m, n, k, tflops, gbps):
    flops, nbytes = formulas.gemm_fp8(groups * m, n, k, groups=groups)
    assert nbytes / (flops / (tflops * 1e12)) / 1e9 == pytest.approx(gbps, rel=3e-3)


def test_deepep_low_latency_pair():
    # 163 us at 1024 selected experts of 7408 bytes corresponds to about 46.5 GB/s
    assert formulas.fp8_payload_bytes(7168) + formulas.LL_META_BYTES == 7408
    _, nbytes = formulas.ep_low_latency_dispatch(1024, 7168, fp8=True)
    assert nbytes / 163e-6 / 1e9 == pytest.approx(46.5, abs=0.1)


def test_deepep_normal_fp8_factor():
    bf16 = formulas.ep_dispatch(1000, 7168, fp8=False).bytes
    fp8 = formulas.ep_dispatch(1000, 7168, fp8=True).bytes
    assert fp8 / bf16 == pytest.approx(0.515625)
    assert formulas.ep_combine(1000, 7168).bytes == bf16
