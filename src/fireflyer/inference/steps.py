"""The step model of the per-layer roofline (``inference.roofline``): every operation of a decoder layer
with its FLOPs, bytes and time at the hardware's rates, a layer's time with two micro-batches hiding
communication, a step's time and rates, and the largest decode batch that meets a per-user speed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from msgspec import Struct
from msgspec.structs import replace

from .. import profiles
from ..errors import InputError
from ..kernels import formulas as fm
from . import factors as fx

MICRO_BATCHES = 2
MAX_BATCH = 1 << 20
BF16 = 2


class Op(Struct, kw_only=True):
    """One operation of one layer on the slowest GPU, over a whole step (both micro-batches)."""

    layer: str
    name: str
    flops: float
    bytes: float
    compute_us: float
    """FLOPs at the peak times the compute factor (communication: 0)."""
    memory_us: float
    """Bytes at HBM bandwidth times the memory factor (communication: at the link's)."""
    time_us: float
    bound: str
    """compute, memory, nvlink or rdma."""


class Layer(Struct, kw_only=True):
    """One kind of layer: its GPU work split by what bounds each operation, its communication, its time."""

    layer: str
    count: int
    compute_us: float
    """Time of its compute-bound operations."""
    memory_us: float
    """Time of its memory-bound operations."""
    comm_us: float
    time_us: float
    """After overlap: max(GPU work, communication) + the unhidden part of the shorter."""
    bound: str


@dataclass(frozen=True)
class Setup:
    """Everything the step time depends on besides the batch."""

    phase: str
    hw: profiles.HardwareProfile
    model: profiles.ModelProfile
    nodes: int
    gpus_per_node: int
    ep: int
    experts_per_gpu: int
    context: int
    cache_hit: float
    f: dict[str, float]


def check_setup(dep, hw, model) -> int:
    """Refuse a deployment that cannot run: experts that do not fit its slots, hardware without the figures
    the estimate needs. Returns routed experts per GPU."""
    if dep.phase not in ("prefill", "decode"):
        raise InputError(f"phase {dep.phase!r}: the estimate covers prefill and decode", field="deployment")
    ep = dep.ep or dep.gpus
    if ep != dep.gpus:
        raise InputError(
            f"EP {ep} is not the unit's {dep.gpus} GPUs: the estimate models EP over the whole unit",
            field="deployment.ep",
        )
    per = dep.routed_experts_per_gpu or math.ceil((model.routed_experts + (dep.redundant_experts or 0)) / ep)
    if ep * per < model.routed_experts:
        raise InputError(
            f"EP {ep} x {per} routed experts per GPU = {ep * per} slots cannot hold {model.name}'s "
            f"{model.routed_experts} routed experts",
            field="deployment.routed_experts_per_gpu",
        )
    for dtype in ("fp8", "bf16"):
        if getattr(hw.peak_tflops, dtype) is None:
            raise InputError(
                f"{hw.name} has no {dtype.upper()} peak: the GEMMs run in FP8, attention in BF16",
                field="hardware",
            )
    if hw.nvlink_gbps is None and dep.gpus_per_node > 1:
        raise InputError(f"{hw.name} has no nvlink_gbps: DeepEP moves tokens over NVLink", field="hardware")
    if hw.rdma_gbps is None and dep.nodes > 1:
        raise InputError(f"{hw.name} has no rdma_gbps: the unit spans {dep.nodes} nodes", field="hardware")
    return per


def _gemm(m: float, n: int, k: int, groups: int = 1) -> fm.Cost:
    return fm.gemm_fp8(m, n, k, groups=groups)  # type: ignore[arg-type]


def _bf16_gemm(m: float, n: int, k: int) -> fm.Cost:
    """A BF16 GEMM (the output head): 2 m n k FLOPs; A, B and D read or written once in BF16."""
    return fm.Cost(2.0 * m * n * k, float(BF16 * (m * k + n * k + m * n)))


def _distinct(slots: int, picks: int) -> float:
    """Expected distinct holders among ``picks`` experts spread uniformly over ``slots`` holders."""
    return slots * (1.0 - (1.0 - 1.0 / slots) ** picks) if slots > 1 else 1.0


def weight_bytes(s: Setup) -> float:
    """Weights one GPU holds: attention, dense MLPs and shared experts in FP8 (data parallel), its routed
    experts (FP8 with scales), embedding and head in BF16."""
    m, a = s.model, s.model.mla
    qk = a.qk_nope_head_dim + a.qk_rope_head_dim
    q = (
        (m.hidden_size * a.q_lora_rank + a.q_lora_rank * a.heads * qk)
        if a.q_lora_rank
        else m.hidden_size * a.heads * qk
    )
    attn = q + m.hidden_size * (a.kv_lora_rank + a.qk_rope_head_dim)
    attn += (
        a.kv_lora_rank * a.heads * (a.qk_nope_head_dim + a.v_head_dim)
        + a.heads * a.v_head_dim * m.hidden_size
    )
    dense = 3 * m.hidden_size * m.intermediate_size
    shared = 3 * m.hidden_size * m.moe_intermediate_size * m.shared_experts
    return float(
        attn * m.layers
        + dense * m.dense_layers
        + (shared + 0.0) * m.moe_layers
        + s.experts_per_gpu * m.moe_layers * m.expert_bytes.fp8
        + 2 * BF16 * m.vocab_size * m.hidden_size
    )


def kv_bytes_per_token(model: profiles.ModelProfile) -> int:
    """MLA's BF16 cache per token over all layers: the latent and the RoPE key (FlashMLA's 576 values)."""
    return BF16 * (model.mla.kv_lora_rank + model.mla.qk_rope_head_dim) * model.layers


def _time(layer: str, name: str, cost: fm.Cost, flops_rate: float, bw: float) -> Op:
    c = cost.flops / flops_rate * 1e6 if flops_rate else 0.0
    b = cost.bytes / bw * 1e6
    return Op(
        layer=layer,
        name=name,
        flops=cost.flops,
        bytes=cost.bytes,
        compute_us=c,
        memory_us=b,
        time_us=max(c, b),
        bound="compute" if c >= b else "memory",
    )


def _sum(layer: str, name: str, ops: list[Op]) -> Op:
    """Several GEMMs as one operation: each takes its own roofline time."""
    c = sum(o.compute_us for o in ops if o.bound == "compute")
    b = sum(o.memory_us for o in ops if o.bound == "memory")
    return Op(
        layer=layer,
        name=name,
        flops=sum(o.flops for o in ops),
        bytes=sum(o.bytes for o in ops),
        compute_us=sum(o.compute_us for o in ops),
        memory_us=sum(o.memory_us for o in ops),
        time_us=sum(o.time_us for o in ops),
        bound="compute" if c >= b else "memory",
    )


def _comm(layer: str, name: str, cost: fm.Cost, gbps: float, link: str) -> Op:
    t = cost.bytes / (gbps * 1e9) * 1e6 if cost.bytes else 0.0
    return Op(
        layer=layer,
        name=name,
        flops=0.0,
        bytes=cost.bytes,
        compute_us=0.0,
        memory_us=t,
        time_us=t,
        bound=link,
    )


def step_ops(s: Setup, batch: int, imbalance: float) -> list[Op]:
    """Every operation of a step of ``batch`` tokens per GPU on the slowest GPU (both micro-batches)."""
    m, a, hw, f = s.model, s.model.mla, s.hw, s.f
    fp8 = hw.peak_tflops.fp8 * 1e12  # type: ignore[operator]
    bf16 = hw.peak_tflops.bf16 * 1e12  # type: ignore[operator]
    hbm = hw.hbm_gbps * 1e9
    t = batch / MICRO_BATCHES
    mb = float(MICRO_BATCHES)

    def gemm(layer: str, name: str, parts: list[fm.Cost], grouped: bool = False) -> Op:
        kind = "grouped" if grouped else "gemm"
        ops = [_time(layer, name, c, fp8 * f[f"{kind}_flops"], hbm * f[f"{kind}_bw"]) for c in parts]
        return _scale(_sum(layer, name, ops), mb)

    qk = a.qk_nope_head_dim + a.qk_rope_head_dim
    proj = [
        *(
            [_gemm(t, a.q_lora_rank, m.hidden_size), _gemm(t, a.heads * qk, a.q_lora_rank)]
            if a.q_lora_rank
            else [_gemm(t, a.heads * qk, m.hidden_size)]
        ),
        _gemm(t, a.kv_lora_rank + a.qk_rope_head_dim, m.hidden_size),
        _gemm(t, a.heads * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank),
        _gemm(t, m.hidden_size, a.heads * a.v_head_dim),
    ]
    if s.phase == "prefill":
        # computed tokens of prompts of `context` tokens whose first `cache_hit` share came from the cache:
        # each attends, causally, to everything before it (MHA form: d 192, dv 128 per head)
        per_prompt = max(1.0, s.context * (1.0 - s.cache_hit))
        prompts = t / per_prompt
        span = s.context * (1.0 + s.cache_hit) / 2
        core = fm.mla_dense(
            prompts * span,  # type: ignore[arg-type]
            b=prompts,  # type: ignore[arg-type]
            s_q=per_prompt,  # type: ignore[arg-type]
            h_q=a.heads,
            h_kv=a.heads,
            d=qk,
            dv=a.v_head_dim,
        )
        head_rows = prompts
    else:
        # absorbed MLA over the cache (FlashMLA's count: d 576, dv 512, one KV head)
        d = a.kv_lora_rank + a.qk_rope_head_dim
        core = fm.mla_dense(t * s.context, b=t, s_q=1, h_q=a.heads, h_kv=1, d=d, dv=a.kv_lora_rank)  # type: ignore[arg-type]
        head_rows = t
    ops: list[Op] = []
    for layer in ("dense", "moe"):
        ops.append(gemm(layer, "MLA projections", proj))
        ops.append(_scale(_time(layer, "MLA attention", core, bf16 * f["mla_flops"], hbm * f["mla_bw"]), mb))
    inter, moe_i = m.intermediate_size, m.moe_intermediate_size
    ops.append(
        gemm("dense", "dense MLP", [_gemm(t, 2 * inter, m.hidden_size), _gemm(t, m.hidden_size, inter)])
    )
    if m.shared_experts:
        si = moe_i * m.shared_experts
        ops.append(
            gemm("moe", "shared expert", [_gemm(t, 2 * si, m.hidden_size), _gemm(t, m.hidden_size, si)])
        )
    rows = t * m.experts_per_token * imbalance  # routed rows on the slowest GPU (EP = the unit's GPUs)
    g = s.experts_per_gpu
    ops.append(
        gemm(
            "moe",
            "routed experts",
            [_gemm(rows, 2 * moe_i, m.hidden_size, g), _gemm(rows, m.hidden_size, moe_i, g)],
            grouped=True,
        )
    )
    ops.extend(_scale(o, mb) for o in _exchange(s, t))
    ops.append(
        _scale(
            _time(
                "head",
                "output head",
                _bf16_gemm(head_rows, m.vocab_size, m.hidden_size),
                bf16 * f["gemm_flops"],
                hbm * f["gemm_bw"],
            ),
            mb,
        )
    )
    return ops


def _scale(o: Op, k: float) -> Op:
    return replace(
        o,
        flops=o.flops * k,
        bytes=o.bytes * k,
        compute_us=o.compute_us * k,
        memory_us=o.memory_us * k,
        time_us=o.time_us * k,
    )


def _exchange(s: Setup, t: float) -> list[Op]:
    """DeepEP's dispatch and combine of ``t`` tokens per GPU, as DeepEP counts their bytes: normal kernels
    (prefill) send a token once per destination node over RDMA and once per destination GPU over NVLink;
    low-latency kernels (decode) send one message per selected expert over RDMA."""
    m, hw, f = s.model, s.hw, s.f
    k, h = m.experts_per_token, m.hidden_size
    if s.phase == "decode":
        rdma = (hw.rdma_gbps or 0.0) if s.nodes > 1 else (hw.nvlink_gbps or 0.0) / 2
        return [
            _comm(
                "moe",
                "dispatch (RDMA)",
                fm.ep_low_latency_dispatch(t * k, h, fp8=True),  # type: ignore[arg-type]
                rdma * f["ll_dispatch"],
                "rdma",
            ),
            _comm(
                "moe",
                "combine (RDMA)",
                fm.ep_low_latency_combine(t * k, h),  # type: ignore[arg-type]
                rdma * f["ll_combine"],
                "rdma",
            ),
        ]
    ranks = _distinct(s.ep, k)
    nodes = _distinct(s.nodes, k)
    nvl = (hw.nvlink_gbps or 0.0) / 2  # one direction
    out = []
    for phase, cost_nvl, cost_rdma in (
        ("dispatch", fm.ep_dispatch(t * ranks, h, fp8=True), fm.ep_dispatch(t * nodes, h, fp8=True)),  # type: ignore[arg-type]
        ("combine", fm.ep_combine(t * ranks, h), fm.ep_combine(t * nodes, h)),  # type: ignore[arg-type]
    ):
        a = _comm("moe", f"{phase} (NVLink)", cost_nvl, nvl * f[f"nvlink_{phase}"], "nvlink")
        if s.nodes > 1:
            b = _comm("moe", f"{phase} (RDMA)", cost_rdma, (hw.rdma_gbps or 0.0) * f[f"rdma_{phase}"], "rdma")
            # NOTE: DeepEP forwards RDMA arrivals over NVLink as they come: the slower link sets the time
            slow, fast = (a, b) if a.time_us >= b.time_us else (b, a)
            out += [slow, replace(fast, time_us=0.0)]
        else:
            out.append(a)
    return out


def layer_times(s: Setup, ops: list[Op]) -> list[Layer]:
    """Each kind of layer's time: max(GPU work, communication) + the unhidden part of the shorter. In
    prefill DeepEP's normal kernels hold 24 SMs while they run, which slows the compute beside them."""
    out = []
    counts = {"dense": s.model.dense_layers, "moe": s.model.moe_layers, "head": 1}
    for layer in ("dense", "moe", "head"):
        mine = [o for o in ops if o.layer == layer]
        gpu = [o for o in mine if o.bound in ("compute", "memory")]
        comm = sum(o.time_us for o in mine if o.bound in ("nvlink", "rdma"))
        c = sum(o.time_us for o in gpu if o.bound == "compute")
        mem = sum(o.time_us for o in gpu if o.bound == "memory")
        work = c + mem
        if comm and s.phase == "prefill" and s.hw.sm_count and s.hw.sm_count > fx.DEEPEP_SMS:
            work *= s.hw.sm_count / (s.hw.sm_count - fx.DEEPEP_SMS)
        hidden = s.f["overlap"]
        total = max(work, comm) + (1.0 - hidden) * min(work, comm)
        bound = "communication" if comm > work else ("compute" if c >= mem else "memory")
        out.append(
            Layer(
                layer=layer,
                count=counts[layer],
                compute_us=c,
                memory_us=mem,
                comm_us=comm,
                time_us=total,
                bound=bound,
            )
        )
    return out


def step_us(s: Setup, batch: int, imbalance: float) -> tuple[float, list[Op], list[Layer]]:
    ops = step_ops(s, batch, imbalance)
    layers = layer_times(s, ops)
    return sum(la.time_us * la.count for la in layers), ops, layers


def rates(s: Setup, batch: int, total_us: float) -> tuple[float, float, float | None]:
    """(per node, per GPU, per user) tokens/s of a step."""
    per_gpu = batch / (total_us * 1e-6)
    if s.phase == "prefill":
        per_gpu /= 1.0 - s.cache_hit
        return per_gpu * s.gpus_per_node, per_gpu, None
    return per_gpu * s.gpus_per_node, per_gpu, 1e6 / total_us


def largest_batch(s: Setup, imb: float, slo: float, cap: int) -> int:
    """The largest batch per GPU whose per-user speed meets ``slo`` (step time grows with the batch)."""

    def speed(b: int) -> float:
        return 1e6 / step_us(s, b, imb)[0]

    if speed(1) < slo:
        raise InputError(
            f"no batch meets {slo:g} tokens/s per user: one sequence per GPU decodes at {speed(1):.1f} "
            f"on {s.hw.name}",
            field="speed_slo",
        )
    lo, hi = 1, cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if speed(mid) >= slo:
            lo = mid
        else:
            hi = mid - 1
    return lo


def frontier_points(s: Setup, imb: float, cap: int) -> list[tuple[int, float, float | None]]:
    """(batch, node tokens/s, per-user tokens/s) at batches 1, 2, 4, ... up to the memory's cap."""
    sizes = sorted({*(1 << i for i in range(cap.bit_length())), cap})
    out = []
    for b in sizes:
        node, _, user = rates(s, b, step_us(s, b, imb)[0])
        out.append((b, node, user))
    return out
