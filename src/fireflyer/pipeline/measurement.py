"""Measured chunk times: F, B, B-input and W of one real transformer block with an MoE layer.

The block is a model profile scaled down to fit this machine: RMSNorm, MLA-shaped attention (low-rank
q and kv projections, a shared RoPE key, causal), RMSNorm, and an MoE layer (top-k router over routed
SwiGLU experts plus the shared expert), with residuals. Times feed `simulate` through
``MeasureResult.chunk_times()``.

The split backward is the zero-bubble one: B-input runs autograd only towards the block input and the
outputs of every weighted op (weights are detached in that forward), and W then forms each weight
gradient from the saved op input and its output gradient. Asking autograd for the parameters' gradients
in a second pass would instead redo most of the activation-gradient chain and count it as W.

This module imports torch; ``import fireflyer.pipeline`` does not import it until ``measure`` is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as fn

from .. import device as devices
from .. import host, profiles
from ..errors import InputError
from ..timing import WARMUP, Recorder, Timing, in_fresh_process
from .records import MeasureResult
from .schedules import check_config
from .simulator import SimResult, simulate

DEFAULT_HIDDEN = 256
DEFAULT_EXPERTS = 16
DEFAULT_TOKENS = 256
WARMUP_SECONDS = 1.0
"""Minimum warm-up time of ``measure``: on a shared 2-core VM the block's first steps run 3-11% slower
than the steady state that follows (measured; the cause is not pinned down), so a count of steps alone
is not enough."""
SAMPLE_SECONDS = 10.0
"""Minimum time of ``measure``'s timed steps. A shared machine's speed drifts over seconds: measured round
after round in one process on a 2-core VM, F, B and W differed between consecutive rounds by up to 11%
with the 20 default steps alone (about 1 s), 22% with 2 s, 5.8% with 5 s and 8.9% with 10 s
(``benchmarks/pipeline_measure_windows.py``). Runs of the command, alternating 10 s and 5 s so that both met
the same drift, settled it: no pair of consecutive 10 s runs differed by more than 9.2% (32 pairs in two
series), while 5 s runs did by up to 13.7% (3 pairs of 32 had a part over 10%;
``benchmarks/pipeline_measure_repeat.py --against "--sample-seconds 5"``)."""


def _round8(v: float) -> int:
    return max(8, int(round(v / 8)) * 8)


def block_dims(
    model: str = "deepseek-v3",
    *,
    hidden: int | None = None,
    experts: int | None = None,
    tokens: int | None = None,
    batch: int = 1,
) -> dict[str, Any]:
    """The scaled-down block's dimensions: widths scale by hidden / profile hidden, head sizes stay."""
    for name, v in (("hidden", hidden), ("experts", experts), ("tokens", tokens), ("batch", batch)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise InputError(f"{name} must be a positive integer, got {v!r}", field=name)
    try:
        prof = profiles.model(model)
    except InputError as e:
        raise InputError(e.message, field="model", hint=e.hint) from None
    h = hidden or DEFAULT_HIDDEN
    r = h / prof.hidden_size
    mla = prof.mla
    n_experts = experts or min(DEFAULT_EXPERTS, prof.routed_experts)
    return {
        "model": prof.name,
        "profile_hidden": prof.hidden_size,
        "scale": r,
        "hidden": h,
        "heads": max(1, round(mla.heads * r)),
        "q_lora_rank": None if mla.q_lora_rank is None else _round8(mla.q_lora_rank * r),
        "kv_lora_rank": _round8(mla.kv_lora_rank * r),
        "qk_nope_head_dim": mla.qk_nope_head_dim,
        "qk_rope_head_dim": mla.qk_rope_head_dim,
        "v_head_dim": mla.v_head_dim,
        "experts": n_experts,
        "top_k": min(prof.experts_per_token, n_experts),
        "shared_experts": prof.shared_experts,
        "moe_intermediate": _round8(prof.moe_intermediate_size * r),
        # NOTE: the schema has no scoring function; grouped routing marks DeepSeek-V3's sigmoid router.
        "router": "sigmoid" if prof.expert_groups > 1 else "softmax",
        "batch": batch,
        "seq_len": tokens or DEFAULT_TOKENS,
        "tokens": batch * (tokens or DEFAULT_TOKENS),
    }


class Block:
    """One decoder block as plain tensors and a functional forward.

    ``forward(x, tape)`` with a tape list detaches every weight and records ``(name, kind, input, output)``
    per weighted op, so that ``weight_grads`` can form the weight gradients from output gradients.
    """

    def __init__(self, dims: dict[str, Any], *, device: Any, dtype: Any, seed: int = 0):
        self.dims = d = dims
        g = torch.Generator().manual_seed(seed)
        h, heads, inter = d["hidden"], d["heads"], d["moe_intermediate"]
        dq = d["qk_nope_head_dim"] + d["qk_rope_head_dim"]
        shapes: dict[str, tuple[int, ...]] = {"attn_norm": (h,)}
        if d["q_lora_rank"] is None:
            shapes["wq"] = (heads * dq, h)
        else:
            shapes |= {
                "wq_a": (d["q_lora_rank"], h),
                "q_norm": (d["q_lora_rank"],),
                "wq_b": (heads * dq, d["q_lora_rank"]),
            }
        shapes |= {
            "wkv_a": (d["kv_lora_rank"] + d["qk_rope_head_dim"], h),
            "kv_norm": (d["kv_lora_rank"],),
            "wkv_b": (heads * (d["qk_nope_head_dim"] + d["v_head_dim"]), d["kv_lora_rank"]),
            "wo": (h, heads * d["v_head_dim"]),
            "moe_norm": (h,),
            "router": (d["experts"], h),
        }
        for e in range(d["experts"]):
            shapes |= {f"e{e}.gate": (inter, h), f"e{e}.up": (inter, h), f"e{e}.down": (h, inter)}
        if d["shared_experts"]:
            si = inter * d["shared_experts"]
            shapes |= {"shared.gate": (si, h), "shared.up": (si, h), "shared.down": (h, si)}
        self.params: dict[str, Any] = {}
        for name, shape in shapes.items():
            t = (
                torch.ones(shape)
                if len(shape) == 1
                else torch.randn(shape, generator=g) / math.sqrt(shape[1])
            )
            self.params[name] = t.to(device=device, dtype=dtype).requires_grad_(True)
        rope = d["qk_rope_head_dim"]
        inv = 1.0 / (10000.0 ** (torch.arange(0, rope, 2, dtype=torch.float32) / rope))
        ang = torch.outer(torch.arange(d["seq_len"], dtype=torch.float32), inv)
        ang = torch.cat([ang, ang], dim=-1)
        self.cos = ang.cos().to(device=device, dtype=dtype)[None, :, None, :]
        self.sin = ang.sin().to(device=device, dtype=dtype)[None, :, None, :]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.params.values())

    def _lin(self, name: str, x: Any, tape: list | None) -> Any:
        w = self.params[name]
        if tape is None:
            return x @ w.t()
        y = x @ w.detach().t()
        tape.append((name, "linear", x.detach(), y))
        return y

    def _norm(self, name: str, x: Any, tape: list | None) -> Any:
        n = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        w = self.params[name]
        if tape is None:
            return n * w
        y = n * w.detach()
        tape.append((name, "scale", n.detach(), y))
        return y

    def _rope(self, x: Any) -> Any:
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * self.cos + rot * self.sin

    def _mlp(self, prefix: str, x: Any, tape: list | None) -> Any:
        act = fn.silu(self._lin(f"{prefix}.gate", x, tape)) * self._lin(f"{prefix}.up", x, tape)
        return self._lin(f"{prefix}.down", act, tape)

    def _attention(self, x: Any, tape: list | None) -> Any:
        d = self.dims
        bsz, t, _ = x.shape
        heads, nope, rope, dv = d["heads"], d["qk_nope_head_dim"], d["qk_rope_head_dim"], d["v_head_dim"]
        if d["q_lora_rank"] is None:
            q = self._lin("wq", x, tape)
        else:
            q = self._lin("wq_b", self._norm("q_norm", self._lin("wq_a", x, tape), tape), tape)
        q = q.view(bsz, t, heads, nope + rope)
        q = torch.cat([q[..., :nope], self._rope(q[..., nope:])], dim=-1)
        ckv = self._lin("wkv_a", x, tape)
        c, k_rope = ckv[..., : d["kv_lora_rank"]], ckv[..., d["kv_lora_rank"] :]
        kv = self._lin("wkv_b", self._norm("kv_norm", c, tape), tape).view(bsz, t, heads, nope + dv)
        k_rope = self._rope(k_rope.view(bsz, t, 1, rope)).expand(bsz, t, heads, rope)
        k = torch.cat([kv[..., :nope], k_rope], dim=-1)
        v = kv[..., nope:]
        o = fn.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
        )
        return self._lin("wo", o.transpose(1, 2).reshape(bsz, t, heads * dv), tape)

    def _moe(self, x: Any, tape: list | None) -> Any:
        d = self.dims
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        logits = self._lin("router", x, tape)
        k = d["top_k"]
        if d["router"] == "sigmoid":
            top_w, top_i = logits.sigmoid().topk(k, dim=-1)
            top_w = top_w / top_w.sum(-1, keepdim=True)
        else:
            top_w, top_i = logits.softmax(-1).topk(k, dim=-1)
        # Dispatch: sort (token, slot) pairs by expert, one matmul chain per expert, weighted scatter-add.
        flat = top_i.flatten()
        order = flat.argsort(stable=True)
        counts = torch.bincount(flat, minlength=d["experts"]).tolist()
        tok = order // k
        xs = x[tok].split(counts)
        ys = [self._mlp(f"e{e}", xe, tape) for e, xe in enumerate(xs) if xe.shape[0]]
        y = torch.cat(ys) * top_w.flatten()[order].unsqueeze(-1)
        out = torch.zeros_like(x).index_add(0, tok, y)
        if d["shared_experts"]:
            out = out + self._mlp("shared", x, tape)
        return out.view(shape)

    def forward(self, x: Any, tape: list | None = None) -> Any:
        h = x + self._attention(self._norm("attn_norm", x, tape), tape)
        return h + self._moe(self._norm("moe_norm", h, tape), tape)

    @staticmethod
    def weight_grads(tape: list, out_grads: list) -> dict[str, Any]:
        """W: each weight's gradient from its op's saved input and output gradient."""
        grads: dict[str, Any] = {}
        for (name, kind, inp, _), g in zip(tape, out_grads):
            if g is None:
                continue
            if kind == "linear":
                gw = g.reshape(-1, g.shape[-1]).t() @ inp.reshape(-1, inp.shape[-1])
            else:
                gw = (g * inp).reshape(-1, g.shape[-1]).sum(0)
            grads[name] = grads[name] + gw if name in grads else gw
        return grads


def estimate_bytes(dims: dict[str, Any], dtype_bytes: int) -> float:
    """Memory one measurement needs: parameters with their gradients and detached copies, and activations
    (a generous 64 values per token and hidden unit, routed and shared experts included)."""
    h, inter, e = dims["hidden"], dims["moe_intermediate"], dims["experts"]
    heads = dims["heads"]
    attn = (
        h * (dims["q_lora_rank"] or 0) * 2
        + heads * (dims["qk_nope_head_dim"] * 2 + dims["qk_rope_head_dim"] + dims["v_head_dim"] * 2) * h * 2
    )
    params = 3 * inter * h * (e + dims["shared_experts"]) + attn + e * h
    acts = dims["tokens"] * (64 * h + 8 * inter * (dims["top_k"] + dims["shared_experts"]))
    acts += dims["batch"] * heads * dims["seq_len"] ** 2
    return float(dtype_bytes) * (3.0 * params + 4.0 * acts)


@dataclass(frozen=True)
class _Sampled:
    """What one process measured: the timing of each part, and on what."""

    timings: dict[str, Timing]
    device: str
    dtype: str
    dims: dict[str, Any]


def _sample(
    dims: dict[str, Any],
    *,
    device: str,
    dtype: str | None,
    samples: int,
    warmup: int,
    warmup_seconds: float,
    sample_seconds: float,
    threads: int | None,
    seed: int,
    progress: Any = None,
) -> _Sampled:
    """Build the block on ``device``, warm it up and time its parts here (``measure``'s work in one
    process)."""
    dev = devices.choose(device)
    tdt = getattr(torch, dtype) if dtype else devices.default_dtype(dev)
    devices.check_fits(estimate_bytes(dims, tdt.itemsize), dev, "a block of this size", field="hidden")
    threads = None if dev.type == "cuda" else (threads or host.threads_available())
    rec = Recorder(
        str(dev),
        threads=threads,
        warmup=warmup,
        warmup_seconds=warmup_seconds,
        sample_seconds=sample_seconds,
    )
    with rec.fixed():
        blk = Block(dims, device=dev, dtype=tdt, seed=seed)
        dims = {**dims, "params": blk.num_params()}
        g = torch.Generator().manual_seed(seed + 1)
        shape = (dims["batch"], dims["seq_len"], dims["hidden"])
        x = torch.randn(shape, generator=g).to(dev, tdt).requires_grad_(True)
        gy = torch.randn(shape, generator=g).to(dev, tdt)
        params = list(blk.params.values())
        for _ in rec.steps(samples, progress):
            with rec.section("f"):
                out = blk.forward(x)
            with rec.section("b"):
                torch.autograd.grad(out, [x, *params], gy)
            tape: list = []
            y = blk.forward(x, tape)
            with rec.section("b_input"):
                res = torch.autograd.grad(y, [x] + [t[3] for t in tape], gy, allow_unused=True)
            with rec.section("w"):
                Block.weight_grads(tape, list(res[1:]))
    return _Sampled(rec.timings(), devices.describe(dev), str(tdt).removeprefix("torch."), dims)


def measure(
    model: str = "deepseek-v3",
    *,
    hidden: int | None = None,
    experts: int | None = None,
    tokens: int | None = None,
    batch: int = 1,
    device: str = "auto",
    dtype: str | None = None,
    samples: int = 20,
    warmup: int = WARMUP,
    warmup_seconds: float = WARMUP_SECONDS,
    sample_seconds: float = SAMPLE_SECONDS,
    threads: int | None = None,
    seed: int = 0,
    fresh_process: bool = False,
    progress: Any = None,
) -> MeasureResult:
    """Time F, B, B-input and W of one block scaled down from ``model`` on the shared timing protocol:
    at least ``warmup`` untimed steps and ``warmup_seconds`` of them, then at least ``samples`` timed ones
    and ``sample_seconds`` of them; medians, with p20 and p80 in ``spread``. After each timed step
    ``progress(share)`` is called with the share of the timed phase it completed (the shares add up to 1).

    ``hidden`` (default 256), ``experts`` (default min(16, the profile's)) and ``tokens`` (sequence length
    of a micro-batch, default 256; ``batch`` sequences) size the block. ``dtype`` defaults to float32 on
    CPU and bfloat16 on CUDA. On CPU torch runs ``threads`` threads (default: every core this process may
    use), fixed for the measurement. ``fresh_process`` measures in a fresh Python process whose allocator
    keeps a huge-page heap (``fireflyer.timing.in_fresh_process``), as ``flyer pipeline measure`` does:
    steadier between runs, at the cost of starting the process (about 2 s).
    """
    for name, v, lo in (("samples", samples, 1), ("warmup", warmup, 0)):
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise InputError(f"{name} must be an integer >= {lo}, got {v!r}", field=name)
    for name, seconds in (("warmup_seconds", warmup_seconds), ("sample_seconds", sample_seconds)):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 600:
            raise InputError(f"{name} must be between 0 and 600 seconds, got {seconds!r}", field=name)
    if threads is not None and not 1 <= threads <= host.threads_available():
        raise InputError(
            f"threads must be between 1 and the {host.threads_available()} cores this process may "
            f"run on, got {threads}",
            field="threads",
        )
    dims = block_dims(model, hidden=hidden, experts=experts, tokens=tokens, batch=batch)
    name = dims.pop("model")
    if dtype is not None and dtype not in ("float32", "bfloat16", "float16"):
        raise InputError(f"unknown dtype {dtype!r}", field="dtype", hint="use float32, bfloat16 or float16")
    share: dict[str, Any] = {  # _sample's keyword arguments, here or in a fresh process
        "device": device,
        "dtype": dtype,
        "samples": samples,
        "warmup": warmup,
        "warmup_seconds": warmup_seconds,
        "sample_seconds": sample_seconds,
        "threads": threads,
        "seed": seed,
    }
    got: _Sampled
    if fresh_process:
        # NOTE: the device is chosen and the fit checked in the child only: a CUDA context made here would
        # hold memory the child's measurement then lacks.
        got = in_fresh_process(_sample, {"dims": dims, **share}, progress)
    else:
        got = _sample(dims, **share, progress=progress)
    t = got.timings
    med = {k: v.median for k, v in t.items()}
    notes = []
    if med["w"] > med["b"]:
        notes.append(f"measured W {med['w']:.3g}s exceeded B {med['b']:.3g}s (noise); W clamped to B")
        med["w"] = med["b"]
    return MeasureResult(
        model=name,
        device=got.device,
        dtype=got.dtype,
        dims=got.dims,
        f=med["f"],
        b=med["b"],
        b_input=med["b_input"],
        w=med["w"],
        fb=med["f"] + med["b"],
        samples=len(t["f"].samples),
        sample_seconds=sample_seconds,
        warmup=t["f"].warmup,
        warmup_seconds=warmup_seconds,
        threads=t["f"].threads,
        spread={k: {"p20": v.p20, "p80": v.p80} for k, v in t.items()},
        fresh_process=fresh_process,
        notes=tuple(notes),
    )


def measure_and_simulate(
    schedule: str = "dualpipe",
    ranks: int = 4,
    microbatches: int = 8,
    *,
    chunks: int = 2,
    latency: float = 0.0,
    **measure_kwargs: Any,
) -> tuple[MeasureResult, SimResult]:
    """Measure one block, then simulate ``schedule`` with the measured times as every stage's chunk times."""
    check_config(schedule, ranks, microbatches, chunks)  # NOTE: fail before spending time measuring
    m = measure(**measure_kwargs)
    return m, simulate(schedule, ranks, microbatches, m.chunk_times(latency), chunks=chunks)
