"""The estimate's pieces against hand computations on a small configuration, and its monotonicity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from fireflyer import inference, profiles
from fireflyer.inference import factors as fx
from fireflyer.inference import steps
from fireflyer.profiles.schema import ExpertBytes, MlaDims, ModelProfile

H, MOE_I, INTER, VOCAB, K = 256, 128, 512, 1000, 2
TINY = ModelProfile(
    name="tiny",
    layers=2,
    dense_layers=1,
    moe_layers=1,
    routed_experts=8,
    shared_experts=1,
    experts_per_token=K,
    expert_groups=1,
    groups_per_token=1,
    hidden_size=H,
    moe_intermediate_size=MOE_I,
    intermediate_size=INTER,
    vocab_size=VOCAB,
    mla=MlaDims(
        heads=4, q_lora_rank=64, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16
    ),
    expert_bytes=ExpertBytes(fp8=3 * H * MOE_I, bf16=6 * H * MOE_I),
    sources={},
)


def tiny(phase: str, **kw) -> steps.Setup:
    base = dict(
        phase=phase,
        hw=profiles.hardware("h800-sxm"),
        model=TINY,
        nodes=2,
        gpus_per_node=2,
        ep=4,
        experts_per_gpu=2,
        context=100,
        cache_hit=0.0,
        f={k: v.value for k, v in fx.defaults(phase, 4).items()},
    )
    return steps.Setup(**{**base, **kw})


def op(ops, layer, name):
    (found,) = [o for o in ops if o.layer == layer and o.name == name]
    return found


def gemm(m, n, k, groups=1):
    """DeepGEMM's count, by hand: 2 m n k FLOPs; m k + groups n k + 2 m n bytes."""
    return 2 * m * n * k, m * k + groups * n * k + 2 * m * n


def test_decode_mla_attention_is_flashmla_count():
    b, t = 6, 3  # two micro-batches of 3 sequences
    ops = steps.step_ops(tiny("decode"), b, 1.0)
    a = op(ops, "moe", "MLA attention")
    d, dv = 32 + 8, 32  # absorbed: latent + rope; values the latent
    assert a.flops == 2 * (2 * 1 * (t * 100) * 4 * (d + dv))
    assert a.bytes == 2 * (2 * (t * 100 * 1 * d + t * 4 * d + t * 4 * dv))  # the KV cache read at the context


def test_mla_projections():
    t = 3
    parts = [gemm(t, 64, H), gemm(t, 4 * 24, 64), gemm(t, 32 + 8, H), gemm(t, 4 * 32, 32), gemm(t, H, 4 * 16)]
    p = op(steps.step_ops(tiny("decode"), 6, 1.0), "dense", "MLA projections")
    assert p.flops == 2 * sum(f for f, _ in parts)
    assert p.bytes == 2 * sum(b for _, b in parts)


@pytest.mark.parametrize("imbalance", [1.0, 1.5])
def test_routed_experts_stretched_by_imbalance(imbalance):
    rows = 3 * K * imbalance
    up, down = gemm(rows, 2 * MOE_I, H, 2), gemm(rows, H, MOE_I, 2)
    r = op(steps.step_ops(tiny("decode"), 6, imbalance), "moe", "routed experts")
    assert r.flops == pytest.approx(2 * (up[0] + down[0]))
    assert r.bytes == pytest.approx(2 * (up[1] + down[1]))


def test_shared_expert_dense_mlp_and_head():
    t = 3
    ops = steps.step_ops(tiny("decode"), 6, 1.0)
    s = [gemm(t, 2 * MOE_I, H), gemm(t, H, MOE_I)]
    d = [gemm(t, 2 * INTER, H), gemm(t, H, INTER)]
    assert op(ops, "moe", "shared expert").flops == 2 * sum(f for f, _ in s)
    assert op(ops, "dense", "dense MLP").bytes == 2 * sum(b for _, b in d)
    head = op(ops, "head", "output head")
    assert head.flops == 2 * (2 * t * VOCAB * H)
    assert head.bytes == 2 * (2 * (t * H + VOCAB * H + t * VOCAB))  # BF16


def test_decode_dispatch_and_combine_bytes_as_deepep_counts_them():
    ops = steps.step_ops(tiny("decode"), 6, 1.0)
    # low latency: one message per selected expert: FP8, one fp32 scale per 128 values, a 16-byte header
    assert op(ops, "moe", "dispatch (RDMA)").bytes == 2 * 3 * K * (H + H // 128 * 4 + 16)
    assert op(ops, "moe", "combine (RDMA)").bytes == 2 * 3 * K * (2 * H)  # BF16


def test_prefill_dispatch_bytes_per_destination_gpu_and_node():
    t = 50
    ops = steps.step_ops(tiny("prefill"), 2 * t, 1.0)
    ranks = 4 * (1 - (3 / 4) ** K)  # expected distinct GPUs of top-2 over 4
    nodes = 2 * (1 - (1 / 2) ** K)
    fp8 = H + H // 128 * 4
    assert op(ops, "moe", "dispatch (NVLink)").bytes == pytest.approx(2 * t * ranks * fp8)
    assert op(ops, "moe", "dispatch (RDMA)").bytes == pytest.approx(2 * t * nodes * fp8)
    assert op(ops, "moe", "combine (NVLink)").bytes == pytest.approx(2 * t * ranks * 2 * H)
    assert op(ops, "moe", "combine (RDMA)").bytes == pytest.approx(2 * t * nodes * 2 * H)


def test_prefill_attention_counts_the_cached_prefix():
    # prompts of 100 tokens, 60% cached: 40 computed per prompt, each attending to 80 on average
    s = tiny("prefill", cache_hit=0.6)
    t = 40.0
    a = op(steps.step_ops(s, 80, 1.0), "moe", "MLA attention")
    assert a.flops == pytest.approx(2 * (2 * 40 * (t / 40 * 80) * 4 * (24 + 16)))


def test_layer_time_is_the_longer_plus_what_does_not_hide():
    s = tiny("decode")
    ops = steps.step_ops(s, 6, 1.0)
    (moe,) = [la for la in steps.layer_times(s, ops) if la.layer == "moe"]
    work = moe.compute_us + moe.memory_us
    assert moe.time_us == pytest.approx(max(work, moe.comm_us))
    half = tiny("decode", f={**s.f, "overlap": 0.5})
    (moe2,) = [la for la in steps.layer_times(half, ops) if la.layer == "moe"]
    assert moe2.time_us == pytest.approx(max(work, moe.comm_us) + 0.5 * min(work, moe.comm_us))


def test_estimate_rates_and_published_ratio():
    e = inference.estimate("deepseek-v3-prefill", batch=4096)
    assert e.tokens_per_s_per_gpu == pytest.approx(4096 / (e.step_us * 1e-6) / (1 - 0.563))
    assert e.tokens_per_s_per_node == pytest.approx(8 * e.tokens_per_s_per_gpu)
    assert e.published.ratio == pytest.approx(e.tokens_per_s_per_node / 73_700)
    assert {f.name for f in e.factors} >= {"gemm_flops", "mla_bw", "rdma_dispatch", "imbalance", "overlap"}
    assert all(f.source for f in e.factors)
    d = inference.estimate("deepseek-v3-decode", batch=64)
    assert d.tokens_per_s_per_user == pytest.approx(1e6 / d.step_us)
    assert d.published.ratio == pytest.approx(d.tokens_per_s_per_node / 14_800)


def test_weights_of_deepseek_v3_decode_gpu():
    s = tiny("decode", model=profiles.model("deepseek-v3"), experts_per_gpu=2)
    # MLA 187.0M parameters per layer; dense MLP 3 x 7168 x 18432; shared 3 x 7168 x 2048; head + embedding
    mla = 7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 512 * 128 * 256 + 128 * 128 * 7168
    want = (
        mla * 61 + 3 * (3 * 7168 * 18432) + 58 * 3 * 7168 * 2048 + 2 * 58 * 44050944 + 2 * 2 * 129280 * 7168
    )
    assert steps.weight_bytes(s) == want


# ---- Monotonicity -----------------------------------------------------------------------------------------

V3 = profiles.model("deepseek-v3")


def v3(phase: str, **hw) -> steps.Setup:
    nodes, ep, per = (4, 32, 9) if phase == "prefill" else (18, 144, 2)
    h800 = profiles.hardware("h800-sxm")
    return tiny(
        phase,
        model=V3,
        nodes=nodes,
        gpus_per_node=8,
        ep=ep,
        experts_per_gpu=per,
        context=4096,
        cache_hit=0.563 if phase == "prefill" else 0.0,
        hw=replace(h800, **hw) if hw else h800,
        f={k: v.value for k, v in fx.defaults(phase, ep).items()},
    )


phases = st.sampled_from(["prefill", "decode"])
more = st.floats(min_value=1.0, max_value=8.0)


@settings(max_examples=40, deadline=None)
@given(phases, st.integers(1, 16384), more, st.sampled_from(["hbm_gbps", "nvlink_gbps", "rdma_gbps"]))
def test_more_bandwidth_never_slower(phase, batch, k, link):
    base = v3(phase)
    faster = v3(phase, **{link: getattr(base.hw, link) * k})
    assert steps.step_us(faster, batch, 1.2)[0] <= steps.step_us(base, batch, 1.2)[0] * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(phases, st.integers(1, 16384), st.floats(1.0, 3.0), st.floats(0.0, 2.0))
def test_more_imbalance_never_faster(phase, batch, imb, extra):
    s = v3(phase)
    assert steps.step_us(s, batch, imb + extra)[0] >= steps.step_us(s, batch, imb)[0] * (1 - 1e-12)


@settings(max_examples=25, deadline=None)
@given(st.floats(1.0, 30.0), st.floats(0.0, 20.0))  # one sequence decodes at about 56
def test_a_higher_slo_never_more_throughput(slo, extra):
    s = v3("decode")
    cap = 400
    low = steps.largest_batch(s, 1.3, slo, cap)
    high = steps.largest_batch(s, 1.3, slo + extra, cap)
    node_low = steps.rates(s, low, steps.step_us(s, low, 1.3)[0])[0]
    node_high = steps.rates(s, high, steps.step_us(s, high, 1.3)[0])[0]
    assert high <= low and node_high <= node_low * (1 + 1e-12)
    assert 1e6 / steps.step_us(s, high, 1.3)[0] >= slo + extra


def test_distinct_destinations():
    assert steps._distinct(32, 8) == pytest.approx(32 * (1 - (31 / 32) ** 8))
    assert steps._distinct(1, 8) == 1.0
    assert math.isclose(steps._distinct(4, 1), 1.0)
