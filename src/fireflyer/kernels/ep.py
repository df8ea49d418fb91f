"""MoE dispatch and combine across expert-parallel ranks (DeepEP), on torch.distributed.

Every rank holds ``tokens`` tokens routed top-``topk`` over ``experts`` experts, ``experts / world`` of them
on each rank. Dispatch sends each token to the ranks holding its experts (``normal``: one copy per
destination rank, DeepEP's high-throughput kernels; ``low_latency``: one copy per selected expert); the
experts here are the identity; combine sends the results back and sums them, weighted by the routing
weights. So combine(dispatch(x)) = x * sum(weights), and every expert receives exactly as many tokens as the
routing sends it: both are checked before timing.

Backends: ``reference`` (all-gather everything, each rank keeps its own: obviously right, wasteful),
``torch`` (``all_to_all_single`` with exact split sizes: the stock way), ``deep_ep`` (DeepEP's ``Buffer``
intranode/internode and low-latency kernels, or ``ElasticBuffer`` for normal mode in DeepEP 2.x; NCCL
only). Ranks come from ``fireflyer.cluster``: spawned here (``launch_local``, gloo on CPU, NCCL on GPU) or
the job's own under torchrun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist

from ..cluster import dist_env
from ..timing import Recorder
from .backends import Unsupported, load_vendor, unsupported
from .cases import EpCase
from .ep_routing import (
    Payload,
    Received,
    Routing,
    _cat,
    _rows,
    expected_combine,
    expert_counts,
    make_routing,
)
from .formulas import ep_combine, ep_dispatch, ep_low_latency_combine, ep_low_latency_dispatch
from .gemm import quantize_rows
from .metrics import calc_diff

TOLERANCE = 1e-5


class _Exchange:
    name = ""

    def __init__(self, case: EpCase, routing: Routing, rank: int, world: int):
        self.case, self.routing, self.rank, self.world = case, routing, rank, world
        self.per = case.experts // world
        self.lo = rank * self.per
        self.dev = routing.x.device
        self.notes: list[str] = []

    def payload(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.case.fp8:
            return quantize_rows(self.routing.x)
        return self.routing.x, None

    def expert_outputs(self, rec: Received) -> torch.Tensor:
        """Identity experts: normal mode applies the local weights here (combine only adds), low-latency mode
        leaves them to combine."""
        if self.case.mode == "low_latency":
            return rec.tokens()
        assert rec.local_idx is not None and rec.weights is not None
        w = rec.weights.masked_fill(rec.local_idx < 0, 0.0).sum(-1, keepdim=True)
        return (rec.tokens().float() * w).to(torch.bfloat16)

    def dispatch(self) -> Received:
        raise NotImplementedError

    def combine(self, rec: Received, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sent_bytes(self, rec: Received) -> tuple[float, float]:
        """Dispatch and combine bytes of this rank as DeepEP counts them: normal mode the tokens received,
        low-latency mode the selections sent."""
        h = self.case.hidden
        if self.case.mode == "low_latency":
            selections = int((self.routing.topk_idx >= 0).sum())
            return (
                ep_low_latency_dispatch(selections, h, fp8=self.case.fp8).bytes,
                ep_low_latency_combine(selections, h).bytes,
            )
        received = rec.local_idx.shape[0] if rec.local_idx is not None else 0
        return ep_dispatch(received, h, fp8=self.case.fp8).bytes, ep_combine(received, h).bytes


def _all_gather(t: torch.Tensor, world: int) -> list[torch.Tensor]:
    out = [torch.empty_like(t) for _ in range(world)]
    dist.all_gather(out, t.contiguous())
    return out


def _as_bytes(*parts: torch.Tensor) -> torch.Tensor:
    return torch.cat([p.contiguous().view(torch.uint8).view(p.shape[0], -1) for p in parts], dim=1)


class ReferenceExchange(_Exchange):
    """All-gather every rank's tokens and routing; each rank keeps what routes to its experts. Combine
    all-gathers every rank's outputs (padded to the longest) and each rank sums those of its own tokens."""

    name = "reference"

    def dispatch(self) -> Received:
        c, r = self.case, self.routing
        x8, s = self.payload()
        xs = _all_gather(x8.view(torch.uint8) if c.fp8 else x8, self.world)
        ss = _all_gather(s, self.world) if s is not None else None
        idxs = _all_gather(r.topk_idx, self.world)
        ws = _all_gather(r.weights, self.world)
        rows, local, weights, experts, src = [], [], [], [], []
        for sr in range(self.world):
            x = (xs[sr].view(torch.float8_e4m3fn), ss[sr]) if ss is not None else xs[sr]
            mine = (idxs[sr] >= self.lo) & (idxs[sr] < self.lo + self.per)
            if c.mode == "normal":
                sel = mine.any(-1).nonzero().flatten()
                rows.append(_rows(x, sel))
                local.append(torch.where(mine[sel], idxs[sr][sel] - self.lo, -1))
                weights.append(ws[sr][sel])
                src.append(torch.stack([torch.full_like(sel, sr), sel, torch.zeros_like(sel)], 1))
            else:
                tok, k = mine.nonzero(as_tuple=True)
                rows.append(_rows(x, tok))
                experts.append(idxs[sr][tok, k] - self.lo)
                src.append(torch.stack([torch.full_like(tok, sr), tok, k], 1))
        src_all = torch.cat(src)
        if c.mode == "normal":
            li = torch.cat(local)
            counts = [int((li == e).any(-1).sum()) for e in range(self.per)]
            return Received(_cat(rows), counts, li, torch.cat(weights), handle=src_all)
        ex = torch.cat(experts)
        order = torch.sort(ex, stable=True).indices  # NOTE: expert-major, as DeepEP packs them
        per_expert = torch.bincount(ex, minlength=self.per)
        return Received(_rows(_cat(rows), order), per_expert, expert=ex[order], handle=src_all[order])

    def combine(self, rec: Received, y: torch.Tensor) -> torch.Tensor:
        c = self.case
        n = torch.tensor([y.shape[0]], device=self.dev)
        longest = int(torch.stack(_all_gather(n, self.world)).max())
        pad_y = torch.zeros(longest, c.hidden, dtype=y.dtype, device=self.dev)
        pad_y[: y.shape[0]] = y
        pad_src = torch.full((longest, 3), -1, dtype=torch.int64, device=self.dev)
        pad_src[: y.shape[0]] = rec.handle
        ys, srcs = _all_gather(pad_y, self.world), _all_gather(pad_src, self.world)
        out = torch.zeros(c.tokens, c.hidden, dtype=torch.float32, device=self.dev)
        for yr, sr in zip(ys, srcs):
            mine = sr[:, 0] == self.rank
            contrib = yr[mine].float()
            if c.mode == "low_latency":
                tok, k = sr[mine, 1], sr[mine, 2]
                contrib = contrib * self.routing.weights[tok, k].unsqueeze(-1)
            out.index_add_(0, sr[mine, 1], contrib)
        return out.to(torch.bfloat16)


class TorchExchange(_Exchange):
    """``all_to_all_single`` with exact split sizes: counts first, then the tokens and their routing, each
    token once per destination rank (normal) or once per selected expert (low latency); combine sends the
    outputs back the same way and adds them up (low latency: weighted)."""

    name = "torch"

    def _a2a(self, send: torch.Tensor, send_counts: list[int], recv_counts: list[int]) -> torch.Tensor:
        out = torch.empty((sum(recv_counts), *send.shape[1:]), dtype=send.dtype, device=self.dev)
        dist.all_to_all_single(out, send.contiguous(), recv_counts, send_counts)
        return out

    def dispatch(self) -> Received:
        c, r = self.case, self.routing
        valid = r.topk_idx >= 0
        dest = torch.where(valid, r.topk_idx // self.per, -1)
        if c.mode == "normal":
            member = torch.stack([(dest == d).any(-1) for d in range(self.world)], 1)  # [tokens, world]
            dest_rank, tok = member.T.nonzero(as_tuple=True)  # ordered by destination, then token
            k = torch.zeros_like(tok)
        else:
            tok, k = valid.nonzero(as_tuple=True)
            dest_rank = dest[tok, k]
            order = torch.sort(dest_rank, stable=True).indices
            tok, k, dest_rank = tok[order], k[order], dest_rank[order]
        send_counts = torch.bincount(dest_rank, minlength=self.world)
        recv_counts = torch.empty_like(send_counts)
        dist.all_to_all_single(recv_counts, send_counts)
        sc, rc = send_counts.tolist(), recv_counts.tolist()
        x8, s = self.payload()
        xs = _as_bytes(x8[tok], s[tok]) if s is not None else x8[tok]
        raw = self._a2a(xs, sc, rc)
        h = c.hidden
        got: Payload = (
            raw
            if s is None
            else (
                raw[:, :h].contiguous().view(torch.float8_e4m3fn),
                raw[:, h:].contiguous().view(torch.float32),
            )
        )
        handle = (tok, k, sc, rc)
        if c.mode == "normal":
            meta = self._a2a(_as_bytes(r.topk_idx[tok], r.weights[tok]), sc, rc)
            kk = c.topk
            gidx = meta[:, : 8 * kk].contiguous().view(torch.int64)
            w = meta[:, 8 * kk :].contiguous().view(torch.float32)
            mine = (gidx >= self.lo) & (gidx < self.lo + self.per)
            li = torch.where(mine, gidx - self.lo, -1)
            counts = [int((li == e).any(-1).sum()) for e in range(self.per)]
            return Received(got, counts, li, w, handle=handle)
        ex = self._a2a(r.topk_idx[tok, k] - dest_rank * self.per, sc, rc)
        order = torch.sort(ex, stable=True).indices
        per_expert = torch.bincount(ex, minlength=self.per)
        return Received(_rows(got, order), per_expert, expert=ex[order], handle=(*handle, order))

    def combine(self, rec: Received, y: torch.Tensor) -> torch.Tensor:
        c = self.case
        tok, k, sc, rc = rec.handle[:4]
        if c.mode == "low_latency":
            back = torch.empty_like(y)
            back[rec.handle[4]] = y  # NOTE: undo the expert-major order, so rows go back as they came
            y = back
        got = self._a2a(y, rc, sc).float()
        if c.mode == "low_latency":
            got = got * self.routing.weights[tok, k].unsqueeze(-1)
        out = torch.zeros(c.tokens, c.hidden, dtype=torch.float32, device=self.dev)
        out.index_add_(0, tok, got)
        return out.to(torch.bfloat16)


class DeepEpExchange(_Exchange):
    """DeepEP: ``Buffer.dispatch``/``combine`` (intranode over NVLink, internode over RDMA) or, in DeepEP 2.x,
    ``ElasticBuffer.dispatch``/``combine`` for normal mode; ``Buffer.low_latency_dispatch``/
    ``low_latency_combine`` for low latency. Needs an NCCL process group on CUDA."""

    name = "deep_ep"

    def __init__(self, case: EpCase, routing: Routing, rank: int, world: int):
        super().__init__(case, routing, rank, world)
        if self.dev.type != "cuda" or dist.get_backend() != "nccl":
            raise Unsupported("DeepEP needs CUDA ranks in an NCCL process group")
        self.ep = load_vendor("deep_ep")
        self.group = dist.group.WORLD
        topk_t = getattr(self.ep, "topk_idx_t", torch.int64)
        self.idx = routing.topk_idx.to(topk_t)
        c = case
        if c.mode == "low_latency":
            size = self.ep.Buffer.get_low_latency_rdma_size_hint(c.tokens, c.hidden, world, c.experts)
            self.buffer = self.ep.Buffer(
                self.group, num_rdma_bytes=size, low_latency_mode=True, num_qps_per_rank=max(1, self.per)
            )
            self.notes.append("deep_ep Buffer.low_latency_dispatch/low_latency_combine")
        elif hasattr(self.ep, "ElasticBuffer"):
            self.buffer = self.ep.ElasticBuffer(
                self.group,
                num_max_tokens_per_rank=c.tokens,
                hidden=c.hidden,
                num_topk=c.topk,
                use_fp8_dispatch=c.fp8,
            )
            self.elastic = True
            self.notes.append("deep_ep ElasticBuffer.dispatch/combine (2.x)")
        else:
            hidden_bytes = c.hidden * 2
            nvl = rdma = 0
            for cfg in (self.ep.Buffer.get_dispatch_config(world), self.ep.Buffer.get_combine_config(world)):
                nvl = max(nvl, cfg.get_nvl_buffer_size_hint(hidden_bytes, world))
                rdma = max(rdma, cfg.get_rdma_buffer_size_hint(hidden_bytes, world))
            self.buffer = self.ep.Buffer(self.group, nvl, rdma)
            self.notes.append("deep_ep Buffer.dispatch/combine")
        self.elastic = getattr(self, "elastic", False)
        self.layout: tuple | None = None
        self.cached: Any = None

    def dispatch(self) -> Received:
        c, r = self.case, self.routing
        x8, s = self.payload()
        x = (x8, s.T.contiguous().T) if s is not None else x8
        if c.mode == "low_latency":
            recv, recv_count, handle, _event, _hook = self.buffer.low_latency_dispatch(
                r.x, self.idx, c.tokens, c.experts, use_fp8=c.fp8
            )
            return Received(recv, recv_count, handle=handle)  # packed [local experts, capacity, hidden]
        if self.elastic:
            recv_x, recv_idx, recv_w, handle, _event = self.buffer.dispatch(
                x,
                topk_idx=self.idx,
                topk_weights=r.weights,
                num_experts=c.experts,
                num_max_tokens_per_rank=c.tokens,
            )
            n = int(handle.num_recv_tokens)
            counts = list(handle.num_recv_tokens_per_expert_list)
            return Received(
                _rows(recv_x, slice(0, n)), counts, recv_idx[:n].long(), recv_w[:n], handle=handle
            )
        if self.layout is None:
            per_rank, per_rdma, per_expert, in_rank, _ = self.buffer.get_dispatch_layout(self.idx, c.experts)
            self.layout = (per_rank, per_rdma, per_expert, in_rank)
        per_rank, per_rdma, per_expert, in_rank = self.layout
        recv_x, recv_idx, recv_w, counts, handle, _event = self.buffer.dispatch(
            x,
            num_tokens_per_rank=per_rank,
            num_tokens_per_rdma_rank=per_rdma,
            is_token_in_rank=in_rank,
            num_tokens_per_expert=per_expert,
            topk_idx=self.idx,
            topk_weights=r.weights,
        )
        return Received(recv_x, list(counts), recv_idx.long(), recv_w, handle=handle)

    def expert_outputs(self, rec: Received) -> torch.Tensor:
        return rec.tokens() if self.case.mode == "low_latency" else super().expert_outputs(rec)

    def combine(self, rec: Received, y: torch.Tensor) -> torch.Tensor:
        if self.case.mode == "low_latency":
            out, _event, _hook = self.buffer.low_latency_combine(
                y, self.idx, self.routing.weights, rec.handle
            )
            return out
        if self.elastic:
            out, _w, _event = self.buffer.combine(y, handle=rec.handle)
            return out
        out, _w, _event = self.buffer.combine(y, rec.handle)
        return out

    def close(self) -> None:
        destroy = getattr(self.buffer, "destroy", None)
        if destroy is not None and getattr(self.buffer, "explicitly_destroy", False):
            destroy()


EXCHANGES = {"reference": ReferenceExchange, "torch": TorchExchange, "deep_ep": DeepEpExchange}


@dataclass
class RankResult:
    """One rank's figures for one (case, backend)."""

    rank: int
    correct: bool
    error_metric: float
    counts_ok: bool
    dispatch: dict = field(default_factory=dict)
    combine: dict = field(default_factory=dict)
    dispatch_bytes: float = 0.0
    combine_bytes: float = 0.0
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)


def check(
    ex: _Exchange, rec: Received, combined: torch.Tensor, expected_counts: list[int]
) -> tuple[bool, float, bool]:
    """(correct, calc_diff of combine(dispatch(x)) against x * sum(weights), per-expert counts exact)."""
    counts_ok = rec.count_list() == list(expected_counts)
    want = expected_combine(ex.case, ex.routing)
    diff = calc_diff(combined.float(), want)
    return counts_ok and diff < TOLERANCE, diff, counts_ok


def run_case(
    case: EpCase,
    backend: str,
    rank: int,
    world: int,
    dev: torch.device,
    *,
    threads: int | None,
    warmup: int,
    samples: int,
) -> RankResult:
    """One rank's part of one case: route, check once, then time dispatch and combine (ranks meet at a
    barrier before each sample of each)."""
    why = unsupported(case, backend)
    if why is not None:  # NOTE: every rank decides alike, before any collective
        return RankResult(rank, False, float("nan"), False, skipped=why)
    routing = make_routing(case, rank, dev)
    want = expert_counts(case, routing, rank, world)
    try:
        ex = EXCHANGES[backend](case, routing, rank, world)
    except Unsupported as e:
        return RankResult(rank, False, float("nan"), False, skipped=str(e))
    try:
        rec = ex.dispatch()
        y = ex.expert_outputs(rec)
        combined = ex.combine(rec, y)
        correct, diff, counts_ok = check(ex, rec, combined, want)
        d_bytes, c_bytes = ex.sent_bytes(rec)
        out = RankResult(
            rank, correct, diff, counts_ok, dispatch_bytes=d_bytes, combine_bytes=c_bytes, notes=ex.notes
        )
        # NOTE: every rank decides together, so no rank waits at a barrier the others skip
        flags = torch.tensor([int(correct)], device=dev)
        dist.all_reduce(flags, op=dist.ReduceOp.MIN)
        if not int(flags):
            return out
        cuda = dev.type == "cuda"
        rec_t = Recorder("cuda" if cuda else "cpu", threads=threads, flush=cuda, warmup=warmup)
        with rec_t.fixed():
            # NOTE: counts only (no minimum times), so every rank runs the same steps to its barriers
            for _ in rec_t.steps(samples):
                dist.barrier()
                with rec_t.section("dispatch"):
                    got = ex.dispatch()
                dist.barrier()
                with rec_t.section("combine"):
                    ex.combine(got, y)
        times = rec_t.timings()
        out.dispatch, out.combine = times["dispatch"].as_dict("us"), times["combine"].as_dict("us")
        return out
    finally:
        close = getattr(ex, "close", None)
        if close is not None:
            close()


def run_rank(
    rank: int, world: int, cases: list[EpCase], backends: list[str], options: dict
) -> list[list[RankResult]]:
    """Everything one rank does: every case with every backend. ``launch_local`` and torchrun jobs call it
    inside an initialised process group; results come back per case, per backend."""
    if torch.cuda.is_available() and dist.get_backend() == "nccl":
        env = dist_env()
        local = env.local_rank if env is not None else rank
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    out = []
    with torch.inference_mode():
        for case in cases:
            out.append(
                [
                    run_case(
                        case,
                        b,
                        rank,
                        world,
                        dev,
                        threads=options.get("threads"),
                        warmup=options["warmup"],
                        samples=options["samples"],
                    )
                    for b in backends
                ]
            )
    return out
