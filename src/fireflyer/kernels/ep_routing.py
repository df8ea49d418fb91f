"""One expert-parallel rank's tokens: their routing, what dispatch must deliver and combine must return
(the checks of ``kernels.ep``), and the payload as a transport carries it (bf16, or e4m3 with scales)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from .cases import EpCase
from .gemm import dequantize_rows, quantize_rows

DROPPED = 10
"""Selections set to -1 (no expert) in each rank's routing, as DeepEP's tests do."""


@dataclass
class Routing:
    """One rank's tokens and their routing."""

    x: torch.Tensor
    """[tokens, hidden] bf16."""
    topk_idx: torch.Tensor
    """[tokens, topk] int64 global expert ids; -1 selects nothing."""
    weights: torch.Tensor
    """[tokens, topk] float32."""


def make_routing(case: EpCase, rank: int, dev: torch.device | str = "cpu") -> Routing:
    """Seeded per rank: x ~ N(0, 1); each token's top-k of |N(0, 1)| + 1 expert scores; weights U(0.1, 1);
    a few selections dropped (-1)."""
    gen = torch.Generator().manual_seed(case.seed * 1_000_003 + rank)
    x = torch.randn(case.tokens, case.hidden, generator=gen).to(torch.bfloat16)
    scores = torch.randn(case.tokens, case.experts, generator=gen).abs() + 1
    idx = torch.topk(scores, case.topk, dim=-1, sorted=False).indices
    weights = torch.rand(case.tokens, case.topk, generator=gen) * 0.9 + 0.1
    drop = torch.randperm(case.tokens * case.topk, generator=gen)[
        : min(DROPPED, case.tokens * case.topk // 4)
    ]

    idx.view(-1)[drop] = -1
    dev = torch.device(dev)
    return Routing(x.to(dev), idx.to(dev), weights.to(dev))


def working_bytes(case: EpCase, world: int) -> int:
    """Peak bytes of one rank's part of a case: its tokens and scores, the all-gathered tokens of every rank
    (the reference), what it receives (at most every rank's tokens, once per selected expert in low-latency
    mode) and the fp32 combine and its expected value."""
    t, h = case.tokens, case.hidden
    received = world * t * (case.topk if case.mode == "low_latency" else 1)
    return t * case.experts * 4 + t * h * (2 + 4 + 4) + world * t * h * 2 + 2 * received * h * 2


def dequantize_tokens(x8: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """[..., hidden] e4m3 with [..., hidden / 128] scales -> bf16."""
    return dequantize_rows(x8, s).to(torch.bfloat16)


Payload = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def as_bf16(x: Payload) -> torch.Tensor:
    """Tokens as delivered (bf16, or e4m3 with scales) in bf16."""
    return dequantize_tokens(*x) if isinstance(x, tuple) else x


def _rows(x: Payload, index: torch.Tensor | slice) -> Payload:
    return (x[0][index], x[1][index]) if isinstance(x, tuple) else x[index]


def _cat(parts: list[Payload]) -> Payload:
    if parts and isinstance(parts[0], tuple):
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    return torch.cat(parts)  # type: ignore[arg-type]


def sent_tokens(case: EpCase, routing: Routing) -> torch.Tensor:
    """What dispatch carries, as bf16: x itself, or x after the FP8 round trip."""
    return dequantize_tokens(*quantize_rows(routing.x)) if case.fp8 else routing.x


def expected_combine(case: EpCase, routing: Routing) -> torch.Tensor:
    """combine(dispatch(x)) with identity experts: the dispatched x times the sum of its valid weights."""
    w = routing.weights.masked_fill(routing.topk_idx < 0, 0.0).sum(-1, keepdim=True)
    return sent_tokens(case, routing).float() * w


def expert_counts(case: EpCase, routing: Routing, rank: int, world: int) -> list[int]:
    """Tokens each of this rank's experts must receive: the global routing histogram (all ranks summed)."""
    hist = torch.bincount(routing.topk_idx[routing.topk_idx >= 0].flatten(), minlength=case.experts)
    hist = hist.to(routing.x.device)
    if world > 1:
        dist.all_reduce(hist)
    per = case.experts // world
    return hist[rank * per : (rank + 1) * per].tolist()


@dataclass
class Received:
    """What one rank holds after dispatch, as the transport delivers it (bf16, or e4m3 with scales): each
    token with its local expert ids (-1: not this rank's) and weights (normal mode), or one row per selected
    local expert (low-latency mode; ``expert`` gives the row's local expert; DeepEP packs them per expert)."""

    x: Payload
    counts: list[int] | torch.Tensor
    """Tokens received by each local expert."""
    local_idx: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    expert: torch.Tensor | None = None
    handle: Any = None

    def tokens(self) -> torch.Tensor:
        return as_bf16(self.x)

    def count_list(self) -> list[int]:
        return self.counts.tolist() if isinstance(self.counts, torch.Tensor) else list(self.counts)
