"""MLA decoding: the MQA-aware reference and the torch backend against the naive repeat-KV reference, with
NaN-poisoned cache tails, permuted block tables, zero-length sequences and the FP8 sparse layout."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fireflyer.kernels import MlaCase, mla


@st.composite
def dense_cases(draw):
    h_kv = draw(st.sampled_from([1, 2]))
    return MlaCase(
        b=draw(st.integers(1, 3)),
        s_k=draw(st.integers(1, 150)),
        h_q=h_kv * draw(st.integers(1, 4)),
        h_kv=h_kv,
        s_q=draw(st.integers(1, 3)),
        d=64,
        dv=32,
        block_size=draw(st.sampled_from([16, 64])),
        varlen=draw(st.booleans()),
        zero_lengths=draw(st.booleans()),
        causal=draw(st.booleans()),
        seed=draw(st.integers(0, 1000)),
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dense_cases())
def test_reference_and_torch_match_repeat_kv_reference(case):
    inp = mla.make_inputs(case)
    naive = mla.repeat_kv_reference(inp)
    ref = mla.reference(inp)
    got = mla.check(ref, naive, case)
    assert got.correct, got.detail
    t = mla.PREPARE["torch"](inp)()
    got = mla.check(t, naive, case)
    assert got.correct, got.detail


def test_flashmla_shape_with_poisoned_tails_and_permuted_blocks():
    case = MlaCase(b=3, s_k=300, h_q=16, s_q=2, varlen=True)
    inp = mla.make_inputs(case)
    assert inp.q.dtype == inp.cache.dtype == torch.bfloat16
    assert inp.cache.isnan().any()  # tails past each length are NaN
    used = inp.block_table[inp.block_table != mla.INVALID_BLOCK]
    assert sorted(used.tolist()) == list(range(used.numel())) != used.tolist()  # a permutation, shuffled
    assert (inp.block_table == mla.INVALID_BLOCK).any()  # entries past a length point nowhere
    ref = mla.reference(inp)
    assert torch.isfinite(ref[0]).all() and torch.isfinite(ref[1]).all()
    assert mla.check(ref, mla.repeat_kv_reference(inp), case).correct
    assert mla.self_check(inp, ref).correct


def test_zero_length_sequences_give_zero_and_inf():
    case = MlaCase(b=4, s_k=100, h_q=8, zero_lengths=True, d=64, dv=32, seed=3)
    inp = mla.make_inputs(case)
    empty = [i for i, n in enumerate(inp.lengths) if n == 0]
    assert empty
    for run in (mla.reference, lambda i: mla.PREPARE["torch"](i)()):
        out, lse = run(inp)
        assert (out[empty] == 0).all()
        assert (lse[empty] == float("inf")).all()


def test_check_catches_a_leaked_nan_and_a_wrong_value():
    case = MlaCase(b=2, s_k=64, h_q=4, d=64, dv=32)
    inp = mla.make_inputs(case)
    out, lse = mla.reference(inp)
    leaked = out.clone()
    leaked[0, 0, 0, 0] = float("nan")
    bad = mla.check((leaked, lse), (out, lse), case)
    assert not bad.correct and "NaN" in bad.detail["out"]["reason"]
    off = lse.clone()
    off[1, 0, 0] += 1e-3
    assert not mla.check((out, off), (out, lse), case).correct


def test_fp8_cache_layout():
    kv = (torch.randn(3, 64, 1, 576) / 10).clamp(-1, 1).to(torch.bfloat16)
    q = mla.quantize_fp8_cache(kv)
    assert q.shape == (3, 64, 1, 656) and q.dtype == torch.float8_e4m3fn
    raw = q.view(torch.uint8).view(-1, 656)
    scales = raw[:, 512:528].contiguous().view(torch.float32)
    assert torch.equal(scales, torch.pow(2.0, scales.log2().round()))  # powers of two (UE8M0)
    rope = raw[:, 528:].contiguous().view(torch.bfloat16)
    assert torch.equal(rope, kv.view(-1, 576)[:, 512:])  # RoPE kept in bf16, exactly
    back = mla.dequantize_fp8_tokens(q).view(-1, 576)
    want = kv.view(-1, 576).float()
    assert torch.equal(back[:, 512:], want[:, 512:])
    rel = (back[:, :512] - want[:, :512]).abs() / want[:, :512].abs().amax(dim=-1, keepdim=True)
    assert rel.max() < 2**-3  # e4m3 with a per-128 scale


@pytest.mark.parametrize("s_k, topk", [(300, 64), (40, 64)])
def test_sparse_fp8_reference_and_torch(s_k, topk):
    case = MlaCase(b=3, s_k=s_k, h_q=16, s_q=2, mode="sparse_fp8", topk=topk, varlen=True, zero_lengths=True)
    inp = mla.make_inputs(case)
    assert inp.indices is not None and inp.indices.shape == (3, 2, topk)
    for i, n in enumerate(inp.lengths):  # min(topk, length) distinct tokens, the rest -1
        for j in range(2):
            sel = inp.indices[i, j]
            assert int((sel >= 0).sum()) == min(topk, n)
            assert len(set(sel[sel >= 0].tolist())) == min(topk, n)
    tokens = inp.cache.view(torch.uint8).view(-1, 656)
    unused = torch.ones(tokens.shape[0], dtype=torch.bool)
    unused[inp.indices[inp.indices >= 0].long()] = False
    assert mla.dequantize_fp8_tokens(tokens[unused]).isnan().all(dim=-1).all()  # unselected tokens are NaN
    naive = mla.repeat_kv_reference(inp)
    ref = mla.reference(inp)
    assert torch.isfinite(ref[0]).all()
    assert mla.check(ref, naive, case).correct
    assert mla.check(mla.PREPARE["torch"](inp)(), naive, case).correct
    assert mla.self_check(inp, ref).correct


def test_cost_uses_actual_lengths_and_selections():
    case = MlaCase(b=2, s_k=100, h_q=8, varlen=True)
    inp = mla.make_inputs(case)
    assert inp.cost().flops == 2 * 1 * sum(inp.lengths) * 8 * (576 + 512)
    sparse = mla.make_inputs(MlaCase(b=2, s_k=50, h_q=8, mode="sparse_fp8", topk=64))
    # FlashMLA's count: FLOPs over all 64 slots of each query; bytes over the distinct index values, the
    # -1 of the 14 unused slots counting once as upstream's indices.unique() does
    assert sparse.cost().bytes == (2 * 50 + 1) * 656 + 2 * 2 * 1 * 8 * (576 + 512)
    assert sparse.cost().flops == 2 * (2 * 64) * 8 * (576 + 512)


def test_case_validation():
    with pytest.raises(ValueError, match="not causal"):
        MlaCase(b=1, s_k=10, h_q=8, mode="sparse_fp8", causal=True)
    with pytest.raises(ValueError, match="multiple of h_kv"):
        MlaCase(b=1, s_k=10, h_q=6, h_kv=4)
    with pytest.raises(ValueError, match="topk applies"):
        MlaCase(b=1, s_k=10, h_q=8, topk=8)
    assert MlaCase(b=1, s_k=10, h_q=8, mode="sparse_fp8").topk == 2048
