"""FLOPs and bytes of each operation, as the anchors count them (FlashMLA, DeepGEMM, DeepEP).

Pure arithmetic: no torch. The tests check these against the anchors' published pairs (FlashMLA's worked
example, DeepGEMM's 206 TFLOPS <-> 1688 GB/s, DeepEP's 163 us <-> 46.5 GB/s).
"""

from __future__ import annotations

from typing import NamedTuple

BF16 = 2
FP32 = 4
SCALE_BLOCK = 128
"""Elements per FP8 scale along K (DeepGEMM's 1x128 and 128x128 blocks; FlashMLA's and DeepEP's tiles)."""
FP8_MAX = 448.0
"""Largest finite e4m3 value: an FP8 scale maps a block's absolute maximum to it."""
FP8_TOKEN_BYTES = 656
"""FlashMLA's FP8 KV-cache token: 512 e4m3 values, 4 fp32 scales (16 bytes), 64 bf16 RoPE values (128)."""
LL_META_BYTES = 16
"""DeepEP's low-latency message header per selected expert (one int4: source token, rank, ...)."""


class Cost(NamedTuple):
    flops: float
    bytes: float


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def mla_dense(
    seqlens_total: int, *, b: int, s_q: int, h_q: int, h_kv: int = 1, d: int = 576, dv: int = 512
) -> Cost:
    """FlashMLA's dense decode count: FLOPs = 2 s_q (sum seqlens) h_q (d + dv); bytes (bf16) = 2 ((sum
    seqlens) h_kv d + b s_q h_q d + b s_q h_q dv): the KV cache once, q and out once."""
    flops = 2.0 * s_q * seqlens_total * h_q * (d + dv)
    nbytes = BF16 * (seqlens_total * h_kv * d + b * s_q * h_q * d + b * s_q * h_q * dv)
    return Cost(flops, float(nbytes))


def mla_sparse_fp8(
    attended: int,
    retrieved: int,
    *,
    b: int,
    s_q: int,
    h_q: int,
    d: int = 576,
    dv: int = 512,
    token_bytes: int = FP8_TOKEN_BYTES,
) -> Cost:
    """FlashMLA's sparse FP8 decode count (``count_flop_and_mem_vol_for_decode`` in its tests/lib.py):
    FLOPs = 2 h_q (d + dv) over every ``attended`` top-k slot (b s_q topk, unused slots included); bytes =
    ``retrieved`` distinct index values (``indices.unique()``: a token two queries select is read once; the
    unused marker, when present, counts as one) x ``token_bytes`` (656), plus q and out in bf16."""
    flops = 2.0 * attended * h_q * (d + dv)
    nbytes = retrieved * token_bytes + BF16 * b * s_q * h_q * (d + dv)
    return Cost(flops, float(nbytes))


def gemm_fp8(m: int, n: int, k: int, *, groups: int = 1) -> Cost:
    """DeepGEMM's published count for D[m, n] = A[m, k] B[n, k]^T in FP8 with bf16 D, over ``groups``
    weight matrices (``m`` is the rows counted, summed over groups): FLOPs = 2 m n k; bytes = m k +
    groups n k + 2 m n (FP8 A and B, bf16 D; the fp32 scales, under 1.5% of that, are not counted, as in
    DeepGEMM's README tables)."""
    return Cost(2.0 * m * n * k, float(m * k + groups * n * k + BF16 * m * n))


def fp8_payload_bytes(hidden: int) -> int:
    """Bytes of one token in FP8 with one fp32 scale per 128 values: hidden + hidden / 128 * 4
    (= 0.515625 of the bf16 token at hidden 7168)."""
    return hidden + ceil_div(hidden, SCALE_BLOCK) * FP32


def ep_dispatch(received: int, hidden: int, *, fp8: bool) -> Cost:
    """DeepEP normal dispatch: the tokens a rank receives (one copy per destination rank), bf16 or FP8
    with scales."""
    per = fp8_payload_bytes(hidden) if fp8 else BF16 * hidden
    return Cost(0.0, float(received * per))


def ep_combine(received: int, hidden: int) -> Cost:
    """DeepEP normal combine: the same tokens sent back in bf16."""
    return Cost(0.0, float(received * BF16 * hidden))


def ep_low_latency_dispatch(selections: int, hidden: int, *, fp8: bool) -> Cost:
    """DeepEP low-latency dispatch: one message per selected expert, hidden + hidden/128*4 + 16 bytes in FP8
    (bf16: 2 hidden + 16)."""
    per = (fp8_payload_bytes(hidden) if fp8 else BF16 * hidden) + LL_META_BYTES
    return Cost(0.0, float(selections * per))


def ep_low_latency_combine(selections: int, hidden: int) -> Cost:
    """DeepEP low-latency combine: one bf16 token back per selected expert."""
    return Cost(0.0, float(selections * BF16 * hidden))
