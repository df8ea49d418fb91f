"""A per-layer roofline of one deployment unit serving DeepSeek-V3/R1: what a node can prefill or decode.

Every operation of a decoder layer is counted as the anchors count it (``fireflyer.kernels.formulas``):
MLA attention (FlashMLA's count; the KV cache read at the context length), the MLA projections, dense MLPs,
the shared expert and the routed experts as FP8 GEMMs (DeepGEMM's count), the output head, and DeepEP's
dispatch (FP8 with scales) and combine (BF16) bytes per token. An operation takes the longer of its FLOPs
at the peak times a compute factor and its bytes at the bandwidth times a memory factor; communication
takes its bytes at the link's bandwidth times DeepEP's measured share. A layer takes the longer of its GPU
work and its communication, plus the part of the shorter that is not hidden (two micro-batches).

Nothing here is fitted to DeepSeek's published throughput: the factors are the anchors' published kernel
figures (or measurements given), and the estimate is printed beside DeepSeek's figures with the ratio.
"""

from __future__ import annotations

import math
import os

from msgspec import Struct

from .. import profiles
from ..errors import InputError
from . import factors as fx
from .steps import (
    MAX_BATCH,
    Layer,
    Op,
    Setup,
    check_setup,
    frontier_points,
    kv_bytes_per_token,
    largest_batch,
    rates,
    step_us,
    weight_bytes,
)

PUBLISHED = {
    "prefill": (73_700.0, "input tokens/s per H800 node in prefill, cache hits included"),
    "decode": (14_800.0, "output tokens/s per H800 node in decode"),
}
"""DeepSeek, "DeepSeek-V3/R1 Inference System Overview" (open-infra day 6, 2025-03-01)."""
OVERVIEW = "DeepSeek-V3/R1 Inference System Overview (2025-03-01)"
DEFAULT_CACHE_HIT = 0.563
"""342B of 608B input tokens hit the on-disk KV cache on DeepSeek's published day."""
DEFAULT_CONTEXT = 4096
DEFAULT_PREFILL_BATCH = 8192
"""Tokens per GPU per forward: two micro-batches of DeepEP's 4096 tokens per batch (its normal-kernel
setting)."""
DEFAULT_SPEED_SLO = 20.0
"""Tokens/s per user: the low end of DeepSeek's published 20-22."""


class Point(Struct, kw_only=True):
    batch: int
    tokens_per_s_per_user: float
    tokens_per_s_per_node: float


class Published(Struct, kw_only=True):
    tokens_per_s_per_node: float
    what: str
    source: str
    ratio: float
    """This estimate over DeepSeek's figure."""


class Estimate(Struct, kw_only=True):
    deployment: str
    phase: str
    hardware: str
    model: str
    nodes: int
    gpus_per_node: int
    ep: int
    routed_experts_per_gpu: int
    context: int
    batch: int
    """Tokens per GPU per step (both micro-batches): computed tokens in prefill, sequences in decode."""
    batch_from: str
    cache_hit: float | None
    tokens_per_s_per_node: float
    """Prefill: input tokens (cache hits included); decode: output tokens."""
    tokens_per_s_per_gpu: float
    tokens_per_s_per_user: float | None
    step_us: float
    weights_gib: float
    kv_cache_gib: float
    max_batch: int | None
    """Decode: the most sequences the memory left after weights holds at this context."""
    layers: list[Layer]
    ops: list[Op]
    factors: list[fx.Factor]
    assumptions: list[str]
    published: Published | None
    frontier: list[Point] | None = None
    notes: list[str] = []


def estimate(
    deployment: str,
    *,
    hardware: str | None = None,
    model: str | None = None,
    context: int | None = None,
    batch: int | None = None,
    speed_slo: float | None = None,
    cache_hit: float | None = None,
    kernels: str | os.PathLike | None = None,
    plan: str | os.PathLike | None = None,
    load: str | os.PathLike | None = None,
    overlap: str | os.PathLike | None = None,
    frontier: bool = False,
) -> Estimate:
    """Throughput of one deployment unit per node and per GPU (and per user in decode), with every layer's
    time split by what bounds it and every factor with its source."""
    dep = profiles.deployment(deployment)
    hw = profiles.hardware(hardware or dep.hardware)
    mdl = profiles.model(model or dep.model)
    per = check_setup(dep, hw, mdl)
    phase = dep.phase
    if batch is not None and speed_slo is not None:
        raise InputError("give --batch or --speed-slo, not both", field="speed_slo")
    if phase == "prefill" and speed_slo is not None:
        raise InputError("--speed-slo applies to decode deployments", field="speed_slo")
    if phase == "prefill" and frontier:
        raise InputError(
            "--frontier applies to decode deployments (node throughput vs per-user speed)", field="frontier"
        )
    if phase == "decode" and cache_hit is not None:
        raise InputError("--cache-hit applies to prefill deployments", field="cache_hit")
    hit = DEFAULT_CACHE_HIT if cache_hit is None else cache_hit
    if not 0 <= hit < 1:
        raise InputError(f"must be in [0, 1), got {hit}", field="cache_hit")
    ctx = context or DEFAULT_CONTEXT
    if ctx < 1:
        raise InputError(f"must be at least 1, got {ctx}", field="context")
    for field, v in (("batch", batch), ("speed_slo", speed_slo)):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise InputError(f"must be a finite number > 0, got {v}", field=field)
    table = fx.defaults(phase, dep.gpus)
    notes: list[str] = []
    if kernels is not None:
        notes += fx.from_kernels(kernels, table)
    if overlap is not None:
        table["overlap"] = fx.from_trace(overlap)
    slots = dep.gpus * per
    table["imbalance"] = fx.imbalance(
        plan=plan,
        load=load,
        model=mdl.name,
        replicas=slots,
        groups=mdl.expert_groups if slots % mdl.expert_groups == 0 else 1,
        nodes=dep.nodes,
        gpus=dep.gpus,
    )
    s = Setup(
        phase=phase,
        hw=hw,
        model=mdl,
        nodes=dep.nodes,
        gpus_per_node=dep.gpus_per_node,
        ep=dep.gpus,
        experts_per_gpu=per,
        context=ctx,
        cache_hit=hit if phase == "prefill" else 0.0,
        f={k: v.value for k, v in table.items()},
    )
    imb = table["imbalance"].value
    weights = weight_bytes(s)
    memory = hw.memory_gib * 2**30
    if weights >= memory:
        raise InputError(
            f"the weights one GPU holds ({weights / 2**30:.1f} GiB at {per} routed experts per GPU) exceed "
            f"{hw.name}'s {hw.memory_gib:g} GiB",
            field="deployment",
        )
    kv_token = kv_bytes_per_token(mdl)
    max_batch = None
    if phase == "decode":
        max_batch = min(MAX_BATCH, int((memory - weights) // (kv_token * ctx)))
        if max_batch < 1:
            raise InputError(
                f"{hw.name}'s memory left after weights holds no sequence of {ctx} tokens", field="context"
            )
        if batch is not None and batch > max_batch:
            raise InputError(
                f"{batch} sequences of {ctx} tokens need {batch * kv_token * ctx / 2**30:.1f} GiB of KV "
                f"cache; "
                f"{(memory - weights) / 2**30:.1f} GiB are left after weights (at most {max_batch})",
                field="batch",
            )
    if phase == "prefill":
        b, b_from = (
            batch or DEFAULT_PREFILL_BATCH,
            "given" if batch else "default: two micro-batches of 4096 tokens (DeepEP's setting)",
        )
    elif batch is not None:
        b, b_from = batch, "given"
    else:
        slo = speed_slo or DEFAULT_SPEED_SLO
        b = largest_batch(s, imb, slo, max_batch or 1)
        b_from = f"the largest meeting {slo:g} tokens/s per user" + (
            "" if speed_slo else " (default SLO: DeepSeek's 20-22)"
        )
    total, ops, layers = step_us(s, b, imb)
    node, gpu, user = rates(s, b, total)
    pub = PUBLISHED.get(phase)
    published = (
        Published(tokens_per_s_per_node=pub[0], what=pub[1], source=OVERVIEW, ratio=node / pub[0])
        if pub
        else None
    )
    points = None
    if frontier:
        points = [
            Point(batch=x, tokens_per_s_per_user=u or 0.0, tokens_per_s_per_node=n)
            for x, n, u in frontier_points(s, imb, max_batch or 1)
        ]
    kv = (b * kv_token * ctx if phase == "decode" else 0) / 2**30
    return Estimate(
        deployment=dep.name,
        phase=phase,
        hardware=hw.name,
        model=mdl.name,
        nodes=dep.nodes,
        gpus_per_node=dep.gpus_per_node,
        ep=dep.gpus,
        routed_experts_per_gpu=per,
        context=ctx,
        batch=b,
        batch_from=b_from,
        cache_hit=hit if phase == "prefill" else None,
        tokens_per_s_per_node=node,
        tokens_per_s_per_gpu=gpu,
        tokens_per_s_per_user=user,
        step_us=total,
        weights_gib=weights / 2**30,
        kv_cache_gib=kv,
        max_batch=max_batch,
        layers=layers,
        ops=ops,
        factors=sorted(table.values(), key=lambda x: x.name),
        assumptions=assumptions(phase, ctx, hit),
        published=published,
        frontier=points,
        notes=notes,
    )


def assumptions(phase: str, context: int, hit: float) -> list[str]:
    """What the estimate takes as given, in words."""
    out = [
        f"context {context} tokens (DeepSeek does not publish its mean; --context to change)",
        "attention, shared expert and dense MLPs data-parallel on every GPU; routed experts EP over the unit",
        "top-8 experts spread uniformly over GPUs and nodes for DeepEP's distinct destinations",
        "GEMMs and weights FP8 (DeepGEMM's count: scales not counted), output head BF16, KV cache BF16 "
        "(576 values per token per layer)",
        "the router (7168 x 256), norms, RoPE and sampling are left out (under 1% of a layer's FLOPs)",
        "two micro-batches per step: every GEMM runs at half the batch, its weights read twice",
    ]
    if phase == "prefill":
        out += [
            f"{hit:.1%} of input tokens hit the on-disk KV cache and are not computed; computed tokens are "
            "each prompt's tail and attend to everything before them",
            "loading cached KV from disk (3FS) is not counted; logits only for each prompt's last token",
            "DeepEP normal kernels: FP8 dispatch, BF16 combine; RDMA and NVLink stages pipelined (the slower "
            "sets the time); 24 SMs taken from compute while they run",
        ]
    else:
        out += [
            "one output token per sequence per step (multi-token prediction not modelled); the step time is "
            "each user's time per token",
            "DeepEP low-latency kernels over RDMA: one FP8 message per selected expert, BF16 combine; they "
            "take no SMs",
            "batch capped by the HBM left after weights for the KV cache (activations and buffers not "
            "counted)",
        ]
    return out
