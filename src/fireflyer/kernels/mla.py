"""MLA decoding with a paged KV cache (FlashMLA's ``flash_mla_with_kvcache``): inputs, references, backends.

Shapes: q [b, s_q, h_q, d]; a cache of blocks [blocks, block_size, h_kv, d] addressed through a block
table [b, max_blocks] with per-sequence lengths; V is the first dv columns of the cache; outputs are
out [b, s_q, h_q, dv] and the log-sum-exp lse [b, h_q, s_q] in fp32. Softmax scale d^-0.5; causal over the
last s_q tokens. Sparse FP8 mode (DeepSeek-V3.2): each query token attends to the ``topk`` cache tokens its
indices name, and every cache token is stored in 656 bytes (512 e4m3 values, 4 fp32 scales, 64 bf16 RoPE
values).

``reference`` is MQA-aware: the h_q heads sharing one KV head are folded into the rows of one matrix
product, so the cache is read once per sequence. ``repeat_kv_reference`` is the naive one that repeats the
KV across heads (FlashMLA's test reference, the specification the others are checked against).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .. import device as devices
from ..errors import InputError
from .backends import Unsupported, load_vendor
from .cases import MlaCase
from .formulas import FP8_MAX, FP8_TOKEN_BYTES, SCALE_BLOCK, Cost, mla_dense, mla_sparse_fp8
from .metrics import Check, Closeness, check_close

NOPE = 512
ROPE = 64
INVALID_BLOCK = 2147480000
"""What block-table entries past a sequence's length hold (FlashMLA's tests): using one is out of bounds."""

Output = tuple[torch.Tensor, torch.Tensor]


@dataclass
class MlaInputs:
    case: MlaCase
    q: torch.Tensor
    """[b, s_q, h_q, d] bf16."""
    cache: torch.Tensor
    """dense: [blocks, block_size, h_kv, d] bf16, NaN past each length; sparse_fp8: [blocks, block_size, 1,
    656] float8_e4m3fn bytes, NaN in every token no index selects."""
    block_table: torch.Tensor
    """[b, max_blocks] int32, a random permutation of the blocks; entries past a length are INVALID_BLOCK."""
    seqlens: torch.Tensor
    """[b] int32 on the device."""
    lengths: list[int]
    indices: torch.Tensor | None = None
    """sparse_fp8: [b, s_q, topk] int32 cache-token indices (block * block_size + offset), -1 unused."""
    scale: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def device(self) -> torch.device:
        return self.q.device

    def cost(self) -> Cost:
        c = self.case
        if c.mode == "sparse_fp8":
            assert self.indices is not None
            attended, retrieved = self.indices.numel(), int(self.indices.unique().numel())
            return mla_sparse_fp8(attended, retrieved, b=c.b, s_q=c.s_q, h_q=c.h_q, d=c.d, dv=c.dv)
        return mla_dense(sum(self.lengths), b=c.b, s_q=c.s_q, h_q=c.h_q, h_kv=c.h_kv, d=c.d, dv=c.dv)


def _lengths(case: MlaCase, rng: random.Random) -> list[int]:
    if case.varlen:
        lengths = [max(int(rng.normalvariate(case.s_k, case.s_k / 2)), case.s_q) for _ in range(case.b)]
    else:
        lengths = [case.s_k] * case.b
    if case.zero_lengths:
        zero = [rng.random() < 0.5 for _ in range(case.b)]
        zero[0] = True  # NOTE: at least one, so the case tests what it says
        lengths = [0 if z else n for n, z in zip(lengths, zero)]
    return lengths


def input_bytes(case: MlaCase, lengths: list[int]) -> int:
    blocks = sum(-(-n // case.block_size) for n in lengths) + 1
    token = FP8_TOKEN_BYTES + 2 * case.d if case.mode == "sparse_fp8" else 2 * case.h_kv * case.d
    return blocks * case.block_size * token + 2 * case.b * case.s_q * case.h_q * (case.d + case.dv)


MAX_DRAWN = 1 << 24
"""Sequences whose lengths are drawn to estimate a case's memory; a larger batch is sized at s_k each."""


def working_bytes(case: MlaCase) -> int:
    """Peak bytes of one case: its inputs (with the fp32 draw the cache is cast from), the reference's
    largest per-sequence score matrix (scores, their masked copy, the shifted copy and the probabilities in
    fp32) and the naive float64 self-check on the two shortest sequences. Estimated before anything is
    allocated, from the lengths the case's seed draws."""
    lengths = _lengths(case, random.Random(case.seed)) if case.b <= MAX_DRAWN else [case.s_k] * case.b
    c, group = case, case.h_q // case.h_kv
    tokens = (sum(-(-n // c.block_size) for n in lengths) + 1) * c.block_size
    inputs = input_bytes(c, lengths) + tokens * c.h_kv * c.d * 4
    short = max(sorted(n for n in lengths if n)[:2], default=0)
    heads = min(4, c.h_q)
    if c.mode == "sparse_fp8":
        assert c.topk is not None
        keys = c.s_q * c.topk
        ref = 4 * c.h_q * keys * 4 + 3 * keys * c.d * 4
        naive = keys * c.d * 8 + heads * c.topk * (c.d + 4) * 8
    else:
        longest = max(lengths, default=0)
        ref = 4 * c.s_q * group * longest * 4 + c.s_q * group * longest + longest * c.d * 4
        naive = heads * short * c.d * 8 + 4 * heads * c.s_q * short * 8
    return inputs + ref + naive


def make_inputs(case: MlaCase, dev: torch.device | str = "cpu") -> MlaInputs:
    """Seeded inputs as FlashMLA's tests make them: q and cache ~ N(0, 0.1) clipped to [-1, 1] in bf16,
    blocks in a random order, cache tails past each length NaN (sparse: every token no index selects).
    Made on the device itself (the same seed gives the same inputs on the same kind of device)."""
    dev = torch.device(dev)
    rng = random.Random(case.seed)
    lengths = _lengths(case, rng)
    devices.check_fits(input_bytes(case, lengths), dev, f"the inputs of mla case {case.shape()}")
    gen = torch.Generator(device=dev).manual_seed(case.seed)
    bs = case.block_size
    per_seq = [-(-n // bs) for n in lengths]
    total = max(sum(per_seq), 1)
    max_blocks = max(max(per_seq), 1)
    order = torch.randperm(total, generator=torch.Generator().manual_seed(case.seed)).to(torch.int32)
    table = torch.full((case.b, max_blocks), INVALID_BLOCK, dtype=torch.int32)
    start = 0
    for i, nb in enumerate(per_seq):
        table[i, :nb] = order[start : start + nb]
        start += nb
    table = table.to(dev)
    q = (torch.randn(case.b, case.s_q, case.h_q, case.d, generator=gen, device=dev) / 10).clamp_(-1, 1)
    kv = torch.randn(total, bs, case.h_kv, case.d, generator=gen, device=dev).div_(10).clamp_(-1, 1)
    kv = kv.to(torch.bfloat16)
    flat = kv.view(total * bs, case.h_kv, case.d)
    used = torch.zeros(total * bs, dtype=torch.bool, device=dev)
    indices = None
    if case.mode == "sparse_fp8":
        indices = _topk_indices(case, lengths, table, gen)
        used[indices[indices >= 0].long()] = True
    else:
        for i, n in enumerate(lengths):
            tok = torch.arange(n, device=dev)
            used[table[i, tok // bs].long() * bs + tok % bs] = True
    flat[~used] = float("nan")
    return MlaInputs(
        case=case,
        q=q.to(torch.bfloat16),
        cache=quantize_fp8_cache(kv) if case.mode == "sparse_fp8" else kv,
        block_table=table,
        seqlens=torch.tensor(lengths, dtype=torch.int32).to(dev),
        lengths=lengths,
        indices=indices,
        scale=case.d**-0.5,
    )


def _topk_indices(
    case: MlaCase, lengths: list[int], table: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Each (sequence, query token) selects min(topk, length) distinct positions of its sequence at random,
    mapped through the block table; the rest are -1."""
    assert case.topk is not None
    b, s_q, topk, bs = case.b, case.s_q, case.topk, case.block_size
    dev = table.device
    out = torch.full((b, s_q, topk), -1, dtype=torch.int32, device=dev)
    for i, n in enumerate(lengths):
        if n == 0:
            continue
        k = min(topk, n)
        pos = torch.rand(s_q, n, generator=gen, device=dev).argsort(dim=1)[:, :k]
        out[i, :, :k] = (table[i, pos // bs].long() * bs + pos % bs).to(torch.int32)
    return out


# ---- FP8 cache (FlashMLA's "FP8 with scale" layout) ----------------------------------------------------


def _ue8m0(x: torch.Tensor) -> torch.Tensor:
    """Round scales up to powers of two (FlashMLA's ``_cast_scale_inv_to_ue8m0``)."""
    return torch.pow(2.0, x.clamp_min(1e-4).log2().ceil())


def quantize_fp8_cache(kv: torch.Tensor) -> torch.Tensor:
    """bf16 [blocks, block_size, 1, 576] -> float8_e4m3fn bytes [blocks, block_size, 1, 656]: 512 e4m3
    values, one power-of-two fp32 scale per 128 of them, then the 64 RoPE values in bf16."""
    blocks, bs, h_kv, d = kv.shape
    if h_kv != 1 or d != NOPE + ROPE:
        raise InputError(f"the FP8 cache holds one KV head of {NOPE + ROPE} values, got {h_kv} x {d}")
    x = kv.view(blocks, bs, d)
    out = torch.empty(blocks, bs, FP8_TOKEN_BYTES, dtype=torch.uint8, device=kv.device)
    tiles = x[..., :NOPE].float().view(blocks, bs, NOPE // SCALE_BLOCK, SCALE_BLOCK)
    scale = _ue8m0(tiles.abs().amax(dim=-1) / FP8_MAX)
    out[..., :NOPE] = (
        (tiles / scale.unsqueeze(-1)).to(torch.float8_e4m3fn).view(blocks, bs, NOPE).view(torch.uint8)
    )
    out[..., NOPE : NOPE + 16] = scale.contiguous().view(torch.uint8).view(blocks, bs, 16)
    out[..., NOPE + 16 :] = x[..., NOPE:].contiguous().view(torch.uint8).view(blocks, bs, 2 * ROPE)
    return out.view(torch.float8_e4m3fn).view(blocks, bs, 1, FP8_TOKEN_BYTES)


def dequantize_fp8_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """[..., 656] FP8 token bytes -> [..., 576] fp32 (e4m3 x its tile's scale; RoPE as stored)."""
    raw = tokens.view(torch.uint8)
    lead = raw.shape[:-1]
    raw = raw.reshape(-1, FP8_TOKEN_BYTES)
    nope = raw[:, :NOPE].view(torch.float8_e4m3fn).float().view(-1, NOPE // SCALE_BLOCK, SCALE_BLOCK)
    scale = raw[:, NOPE : NOPE + 16].contiguous().view(torch.float32)
    rope = raw[:, NOPE + 16 :].contiguous().view(torch.bfloat16).float()
    out = torch.cat([(nope * scale.unsqueeze(-1)).view(-1, NOPE), rope], dim=-1)
    return out.view(*lead, NOPE + ROPE)


# ---- references --------------------------------------------------------------------------------------


def _attend(q: torch.Tensor, kv: torch.Tensor, dv: int, scale: float, mask: torch.Tensor | None) -> Output:
    """Softmax attention of rows q [..., r, d] over keys kv [..., n, d]; mask [..., r, n] True = hidden.
    Rows that see no key give out 0 and lse +inf."""
    s = torch.matmul(q * scale, kv.transpose(-1, -2))  # NOTE: scale the few query rows, not every score
    if mask is not None:
        s = s.masked_fill(mask, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    lonely = lse == float("-inf")
    p = torch.exp(s - lse.masked_fill(lonely, 0.0).unsqueeze(-1))
    out = torch.matmul(p, kv[..., :dv])
    out = out.masked_fill(lonely.unsqueeze(-1), 0.0)
    return out, lse.masked_fill(lonely, float("inf"))


def _causal(s_q: int, n: int, device: torch.device) -> torch.Tensor:
    """[s_q, n] True where query token j (the (n - s_q + j)-th token) must not see key t."""
    t = torch.arange(n, device=device)
    last = n - s_q + torch.arange(s_q, device=device)
    return t.unsqueeze(0) > last.unsqueeze(1)


def _sequence_kv(inp: MlaInputs, i: int) -> torch.Tensor:
    n, bs = inp.lengths[i], inp.case.block_size
    blocks = inp.block_table[i, : -(-n // bs)].long()
    return inp.cache[blocks].reshape(-1, inp.case.h_kv, inp.cache.shape[-1])[:n]


def _gather_sparse(inp: MlaInputs, i: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence i's selected tokens dequantized [s_q, topk, 576] (unused slots 0) and the unused mask."""
    assert inp.indices is not None
    idx = inp.indices[i].long()
    unused = idx < 0
    flat = inp.cache.view(-1, FP8_TOKEN_BYTES)
    tok = dequantize_fp8_tokens(flat[idx.clamp_min(0)]).to(dtype)
    return tok.masked_fill(unused.unsqueeze(-1), 0.0), unused


def reference(inp: MlaInputs) -> Output:
    """MQA-aware reference in fp32: per sequence, the h_q / h_kv query heads of each KV head (and the s_q
    query tokens) are the rows of one product with that head's keys, so the cache is read once."""
    c = inp.case
    dev = inp.device
    out = torch.zeros(c.b, c.s_q, c.h_q, c.dv, dtype=torch.float32, device=dev)
    lse = torch.full((c.b, c.h_q, c.s_q), float("inf"), dtype=torch.float32, device=dev)
    group = c.h_q // c.h_kv
    for i, n in enumerate(inp.lengths):
        if n == 0:
            continue
        q = inp.q[i].float()  # [s_q, h_q, d]
        if c.mode == "sparse_fp8":
            tok, unused = _gather_sparse(inp, i, torch.float32)  # [s_q, topk, d]
            o, l = _attend(q, tok, c.dv, inp.scale, unused.unsqueeze(1).expand(-1, c.h_q, -1))
            out[i], lse[i] = o, l.transpose(0, 1)
            continue
        kv = _sequence_kv(inp, i)  # [n, h_kv, d]
        mask = _causal(c.s_q, n, dev).repeat_interleave(group, dim=0) if c.causal and c.s_q > 1 else None
        for g in range(c.h_kv):
            rows = q[:, g * group : (g + 1) * group].reshape(c.s_q * group, c.d)
            keys = kv.view(n, c.d) if c.h_kv == 1 else kv[:, g].contiguous()
            o, l = _attend(rows, keys.float(), c.dv, inp.scale, mask)
            out[i, :, g * group : (g + 1) * group] = o.view(c.s_q, group, c.dv)
            lse[i, g * group : (g + 1) * group] = l.view(c.s_q, group).transpose(0, 1)
    return out, lse


def repeat_kv_reference(
    inp: MlaInputs,
    *,
    dtype: torch.dtype = torch.float64,
    sequences: list[int] | None = None,
    heads: list[int] | None = None,
) -> Output:
    """The naive reference (FlashMLA's test reference): per sequence the KV is repeated across the query
    heads and each head attends on its own. ``sequences`` and ``heads`` limit it to part of the batch (the
    rest stay out 0, lse +inf)."""
    c = inp.case
    dev = inp.device
    group = c.h_q // c.h_kv
    hs = list(range(c.h_q)) if heads is None else list(heads)
    hidx = torch.tensor(hs, device=dev)
    out = torch.zeros(c.b, c.s_q, c.h_q, c.dv, dtype=dtype, device=dev)
    lse = torch.full((c.b, c.h_q, c.s_q), float("inf"), dtype=dtype, device=dev)
    for i in range(c.b) if sequences is None else sequences:
        n = inp.lengths[i]
        if n == 0:
            continue
        q = inp.q[i][:, hidx].to(dtype).transpose(0, 1)  # [heads, s_q, d]
        if c.mode == "sparse_fp8":
            tok, unused = _gather_sparse(inp, i, dtype)  # [s_q, topk, d]
            for j in range(c.s_q):
                kv = tok[j].unsqueeze(0).repeat(len(hs), 1, 1)  # [heads, topk, d]
                hidden = unused[j].view(1, 1, -1).expand(len(hs), 1, -1)
                o, l = _attend(q[:, j : j + 1], kv, c.dv, inp.scale, hidden)
                out[i, j, hidx], lse[i, hidx, j] = o[:, 0], l[:, 0]
            continue
        kv = _sequence_kv(inp, i).to(dtype).transpose(0, 1)  # [h_kv, n, d]
        kv = kv[hidx // group]  # NOTE: one copy of the KV per query head: the naive way
        mask = _causal(c.s_q, n, dev).unsqueeze(0) if c.causal and c.s_q > 1 else None
        o, l = _attend(q, kv, c.dv, inp.scale, mask)
        out[i][:, hidx], lse[i, hidx] = o.transpose(0, 1), l
    return out, lse


# ---- backends ----------------------------------------------------------------------------------------


def _torch_dense(inp: MlaInputs) -> Callable[[], Output]:
    """Every sequence at once: the cache gathered into [b, T, h_kv, d] (T = the longest length, padded),
    one batched product per KV head group, padding and causal positions masked."""
    c, dev = inp.case, inp.device
    bs = c.block_size
    nb = -(-max(max(inp.lengths), 1) // bs)
    t = nb * bs
    group = c.h_q // c.h_kv
    need = c.b * t * (c.h_kv * c.d * 4 + c.s_q * c.h_q * 8)
    try:
        devices.check_fits(need, dev, "the torch backend's padded batch")
    except InputError as e:
        raise Unsupported(e.message) from None
    blocks_used = torch.tensor([-(-n // bs) for n in inp.lengths], device=dev)
    col = torch.arange(nb, device=dev)
    table = torch.where(col < blocks_used.unsqueeze(1), inp.block_table[:, :nb].long(), 0)
    pos = torch.arange(t, device=dev)
    lengths = inp.seqlens.long()
    hidden = pos.view(1, 1, t) >= lengths.view(-1, 1, 1)  # [b, 1, t]
    if c.causal and c.s_q > 1:
        last = lengths.view(-1, 1, 1) - c.s_q + torch.arange(c.s_q, device=dev).view(1, -1, 1)
        hidden = hidden | (pos.view(1, 1, t) > last)  # [b, s_q, t]
    mask = hidden.repeat_interleave(group, dim=1) if hidden.shape[1] > 1 else hidden  # [b, s_q*group, t]
    mask = mask.unsqueeze(1)  # [b, 1, rows, t]
    valid = (pos.view(1, t) < lengths.view(-1, 1)).view(c.b, t, 1, 1)

    def run() -> Output:
        kv = inp.cache[table].view(c.b, t, c.h_kv, c.d)
        kv = torch.where(valid, kv, 0).float().permute(0, 2, 1, 3)  # [b, h_kv, t, d]
        q = inp.q.float().view(c.b, c.s_q, c.h_kv, group, c.d).permute(0, 2, 1, 3, 4)
        o, l = _attend(q.reshape(c.b, c.h_kv, c.s_q * group, c.d), kv, c.dv, inp.scale, mask)
        out = o.view(c.b, c.h_kv, c.s_q, group, c.dv).permute(0, 2, 1, 3, 4).reshape(c.b, c.s_q, c.h_q, c.dv)
        lse = l.view(c.b, c.h_kv, c.s_q, group).permute(0, 1, 3, 2).reshape(c.b, c.h_q, c.s_q)
        return out, lse

    return run


def _torch_sparse(inp: MlaInputs) -> Callable[[], Output]:
    """All (sequence, query token) rows at once: the selected tokens gathered and dequantized in one pass,
    one batched product over the heads."""
    c, dev = inp.case, inp.device
    assert inp.indices is not None and c.topk is not None
    need = c.b * c.s_q * c.topk * (c.d * 8 + c.h_q * 8)
    try:
        devices.check_fits(need, dev, "the torch backend's gathered tokens")
    except InputError as e:
        raise Unsupported(e.message) from None
    idx = inp.indices.long().view(c.b * c.s_q, c.topk)
    unused = idx < 0
    safe = idx.clamp_min(0)
    mask = unused.unsqueeze(1)  # [rows, 1, topk]
    flat = inp.cache.view(-1, FP8_TOKEN_BYTES)

    def run() -> Output:
        tok = dequantize_fp8_tokens(flat[safe]).masked_fill(unused.unsqueeze(-1), 0.0)  # [rows, topk, d]
        q = inp.q.float().view(c.b * c.s_q, c.h_q, c.d)
        o, l = _attend(q, tok, c.dv, inp.scale, mask)
        return o.view(c.b, c.s_q, c.h_q, c.dv), l.view(c.b, c.s_q, c.h_q).transpose(1, 2)

    return run


def prepare_reference(inp: MlaInputs) -> Callable[[], Output]:
    return lambda: reference(inp)


def prepare_torch(inp: MlaInputs) -> Callable[[], Output]:
    return _torch_sparse(inp) if inp.case.mode == "sparse_fp8" else _torch_dense(inp)


def prepare_flash_mla(inp: MlaInputs) -> Callable[[], Output]:
    """FlashMLA 1.x: ``get_mla_metadata`` then ``flash_mla_with_kvcache`` (dense bf16, or sparse with the FP8
    cache and ``indices``). The call works with both interfaces: the one whose ``get_mla_metadata`` takes
    (cache_seqlens, s_q * h_q / h_kv, h_kv[, h_q, is_fp8, topk]) and returns (tile metadata, num_splits), and
    the current one that takes any arguments and returns (FlashMLASchedMeta, None)."""
    c = inp.case
    if inp.device.type != "cuda":
        raise Unsupported("FlashMLA runs on CUDA only")
    fm = load_vendor("flash_mla")
    major = torch.cuda.get_device_capability(inp.device)[0]
    sparse = c.mode == "sparse_fp8"
    if not sparse and major != 9:
        raise Unsupported(f"FlashMLA's dense decoding kernel is for SM90; this GPU is SM{major}x")
    args = (inp.seqlens, c.s_q * c.h_q // c.h_kv, c.h_kv)
    if sparse:
        meta, splits = fm.get_mla_metadata(*args, c.h_q, True, c.topk)
    else:
        meta, splits = fm.get_mla_metadata(*args)
    extra = dict(is_fp8_kvcache=True, indices=inp.indices) if sparse else {}
    current = type(meta).__name__ == "FlashMLASchedMeta"
    inp.notes.append(
        f"flash_mla {getattr(fm, '__version__', '?')}, "
        + ("scheduler metadata made on the first call" if current else "tile metadata from get_mla_metadata")
    )

    def run() -> Output:
        return fm.flash_mla_with_kvcache(
            inp.q,
            inp.cache,
            inp.block_table,
            inp.seqlens,
            c.dv,
            meta,
            splits,
            softmax_scale=inp.scale,
            causal=bool(c.causal),
            **extra,
        )

    return run


PREPARE = {"reference": prepare_reference, "torch": prepare_torch, "flash_mla": prepare_flash_mla}


def check(ans: Output, ref: Output, case: MlaCase) -> Check:
    """FlashMLA's tolerances: out within abs 8e-4 (sparse 1e-3) or rel 2.01/128 with cosine difference below
    5e-6; lse within abs 1e-6 or rel 8.01/65536; infinities and NaNs where the reference has them."""
    out_abs = 1e-3 if case.mode == "sparse_fp8" else 8e-4
    o = check_close("out", ans[0].float(), ref[0].float(), abs_tol=out_abs, rel_tol=2.01 / 128, cos_tol=5e-6)
    l = check_close("lse", ans[1].float(), ref[1].float(), abs_tol=1e-6, rel_tol=8.01 / 65536)
    return _combine(o, l)


def _combine(*parts: Closeness) -> Check:
    return Check(
        correct=all(p.passed for p in parts),
        error_metric=max(p.cos_diff for p in parts[:1]),
        detail={p.name: p.to_dict() for p in parts},
    )


def self_check(inp: MlaInputs, ref: Output, *, sequences: int = 2, heads: int = 4) -> Check:
    """The reference's own output against the naive one (float64) on the ``sequences`` shortest non-empty
    sequences and ``heads`` query heads spread over the KV heads: run with every benchmark, so the ground
    truth is itself checked, at a bounded cost."""
    c = inp.case
    nonempty = sorted((n, i) for i, n in enumerate(inp.lengths) if n)
    picked = sorted(i for _, i in nonempty[:sequences]) or [0]
    step = max(1, c.h_q // heads)
    hs = list(range(0, c.h_q, step))[:heads]
    naive = repeat_kv_reference(inp, sequences=picked, heads=hs)
    ix = torch.tensor(picked, device=inp.device)
    hx = torch.tensor(hs, device=inp.device)
    ans = (ref[0][ix][:, :, hx], ref[1][ix][:, hx])
    want = (naive[0][ix][:, :, hx], naive[1][ix][:, hx])
    return check(ans, want, c)


def flops_dtype(dev: torch.device) -> str:
    """The data type whose peak bounds this operation: bf16 tensor cores on GPU, fp32 on CPU."""
    return "bf16" if dev.type == "cuda" else "fp32"
