"""Run a schedule for real: P torch.distributed processes (gloo on CPU, NCCL on GPU), a small model split
into stages, checked against a single-process run, with each rank's op timeline recorded.

This module imports torch; ``import fireflyer.pipeline`` does not import it until ``run`` is used.
"""

from __future__ import annotations

import math
import socket
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .. import host
from ..cluster import dist_env, launch_local, process_group
from ..errors import CheckFailed, InputError
from .records import Makespan, MeanTimes, RunRank, RunReport
from .schedules import B_INPUT, FB, OP_KINDS, B, F, Schedule, W, check_config, generate
from .simulator import ChunkTimes, simulate_schedule

BACKENDS = ("gloo", "nccl")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """What `run` executes."""

    schedule: str = "dualpipe"
    """Schedule name."""
    ranks: int = 4
    """Processes (pipeline ranks)."""
    microbatches: int = 8
    """Micro-batches per step."""
    hidden: int = 64
    """Width of the toy model's stages."""
    batch: int = 8
    """Rows per micro-batch."""
    seed: int = 0
    """Seed for weights and data: every process builds the same model and batches."""

    def __post_init__(self) -> None:
        check_config(self.schedule, self.ranks, self.microbatches)
        for name in ("hidden", "batch"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}", field=name)
        host.check_fits(
            self.bytes_needed(), f"a {self.schedule} run with --hidden {self.hidden}", field="hidden"
        )

    def bytes_needed(self) -> float:
        """Memory of the run on this machine, every rank and the single-process reference together: float32
        weights, gradients and optimizer-free copies of each stage, and the micro-batches' activations."""
        stages = self.ranks * (2 if self.schedule in ("dualpipev", "zbv") else 1)
        stage_bytes = 4.0 * (2 * self.hidden * self.hidden + 2 * self.hidden) * 4
        acts = 4.0 * self.microbatches * self.batch * self.hidden * 8
        return stages * stage_bytes * 2 + acts * (self.ranks + 1)


def _stage_module(cfg: RunConfig, stage: int):
    g = torch.Generator().manual_seed(cfg.seed * 1000 + stage)
    lin1, lin2 = torch.nn.Linear(cfg.hidden, cfg.hidden), torch.nn.Linear(cfg.hidden, cfg.hidden)
    with torch.no_grad():
        for p in (*lin1.parameters(), *lin2.parameters()):
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(cfg.hidden))

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin1, self.lin2 = lin1, lin2

        def forward(self, x):
            return x + self.lin2(torch.tanh(self.lin1(x)))

    return Block()


def _data(cfg: RunConfig, n: int):
    g = torch.Generator().manual_seed(cfg.seed * 7919 + 17)
    xs = torch.randn(n, cfg.batch, cfg.hidden, generator=g)
    ys = torch.randn(n, cfg.batch, cfg.hidden, generator=g)
    return xs, ys


def reference(cfg: RunConfig, stages: int) -> tuple[float, list[list[Any]]]:
    """Single-process loss and per-stage parameter gradients of the whole step (loss = mean over
    micro-batches)."""
    mods = [_stage_module(cfg, s) for s in range(stages)]
    xs, ys = _data(cfg, cfg.microbatches)
    total = 0.0
    for m in range(cfg.microbatches):
        h = xs[m]
        for mod in mods:
            h = mod(h)
        loss = torch.nn.functional.mse_loss(h, ys[m]) / cfg.microbatches
        loss.backward()
        total += float(loss.detach())
    return total, [[p.grad.detach().clone() for p in mod.parameters()] for mod in mods]


def _f_owners(s: Schedule) -> dict[tuple[int, int], int]:
    """The rank that runs the forward of each (stage, micro-batch): where its activation and gradient live."""
    out = {}
    for r in range(s.ranks):
        for i in range(int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])):
            if int(s.kind[i]) in (F, FB):
                out[(int(s.stage[i]), int(s.mb[i]))] = r
    return out


def _send_order(s: Schedule, f_owner: dict) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    """Messages each rank sends each other rank, in its op order: (0, stage, mb) an activation of `stage`,
    (1, stage, mb) the input gradient of `stage`; an F&B sends its activation before its gradient."""
    out: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for r in range(s.ranks):
        for i in range(int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])):
            k, st, m = int(s.kind[i]), int(s.stage[i]), int(s.mb[i])
            msgs = []
            if k in (F, FB) and st < s.stages - 1:
                msgs.append((f_owner[(st + 1, m)], (0, st, m)))
            bst, bm = (int(s.stage2[i]), int(s.mb2[i])) if k == FB else (st, m)
            if k in (B, B_INPUT, FB) and bst > 0:
                msgs.append((f_owner[(bst - 1, bm)], (1, bst, bm)))
            for dst, msg in msgs:
                if dst != r:
                    out.setdefault((r, dst), []).append(msg)
    return out


def rank_main(rank: int, world: int, cfg: RunConfig) -> dict[str, Any]:
    """One pipeline rank inside an initialised process group: run its ops in order, record when each ran."""
    torch.set_num_threads(1)
    s = generate(cfg.schedule, cfg.ranks, cfg.microbatches)
    S, N = s.stages, s.microbatches
    f_owner = _f_owners(s)
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    mine = sorted({st for (st, _m), r in f_owner.items() if r == rank})
    # NOTE: DualPipe keeps a copy of a stage per direction, so one stage may live on two ranks.
    mods = {st: _stage_module(cfg, st).to(device) for st in mine}
    xs, ys = _data(cfg, N)
    xs, ys = xs.to(device), ys.to(device)
    shape = (cfg.batch, cfg.hidden)
    inputs: dict[tuple[int, int], torch.Tensor] = {}  # (stage, micro-batch) -> activation into the stage
    out_grads: dict[tuple[int, int], torch.Tensor] = {}  # -> gradient of the stage's output
    outputs: dict[tuple[int, int], tuple[torch.Tensor, ...]] = {}  # -> (input, output[, output gradient])
    losses: dict[int, float] = {}
    sends: list[dist.Work] = []

    def tag(kind: int, st: int, m: int) -> int:
        return (m * S + st) * 2 + kind

    def send(t, dst: int, kind: int, st: int, m: int) -> None:
        if dst == rank:
            (inputs if kind == 0 else out_grads)[(st + 1, m) if kind == 0 else (st - 1, m)] = t.detach()
        else:
            handle = dist.isend(t.detach().contiguous(), dst, tag=tag(kind, st, m))
            if handle is not None:  # None only for a rank outside the group
                sends.append(handle)

    # NOTE: receive from each peer in the order it sends, buffering what comes early: NCCL matches
    # point-to-point
    # messages by order, not tag, and a DualPipe rank may need a peer's messages in another order than sent.
    # Waiting for an earlier message never blocks longer than waiting for the one needed, which is sent
    # after it.
    incoming = {src: seq for (src, dst), seq in _send_order(s, f_owner).items() if dst == rank}
    taken = dict.fromkeys(incoming, 0)
    arrived: dict[tuple[int, int, int], Any] = {}

    def fetch(src: int, kind: int, st: int, m: int):
        while (kind, st, m) not in arrived:
            msg = incoming[src][taken[src]]
            taken[src] += 1
            buf = torch.empty(shape, device=device)
            dist.recv(buf, src, tag=tag(*msg))
            arrived[msg] = buf
        return arrived.pop((kind, st, m))

    def prefetch(st: int, m: int, grad: bool) -> None:
        """Have the activation into stage st (or, with grad, the gradient of its output) at hand."""
        held, src = (out_grads, st + 1) if grad else (inputs, st - 1)
        if 0 <= src < S and (st, m) not in held:
            held[(st, m)] = fetch(f_owner[(src, m)], int(grad), src, m)

    def recv_act(st: int, m: int):
        if st == 0:
            return xs[m]
        prefetch(st, m, grad=False)
        return inputs.pop((st, m))

    def recv_grad(st: int, m: int):
        if st == S - 1:
            return None
        prefetch(st, m, grad=True)
        return out_grads.pop((st, m))

    def forward(st: int, m: int) -> None:
        x = recv_act(st, m).detach().requires_grad_(st > 0)
        y = mods[st](x)
        if st == S - 1:
            y = torch.nn.functional.mse_loss(y, ys[m]) / N
            losses[m] = float(y.detach())
        else:
            send(y, f_owner[(st + 1, m)], 0, st, m)
        outputs[(st, m)] = (x, y)

    def backward(st: int, m: int, split: bool) -> None:
        g = recv_grad(st, m)
        x, y = outputs.pop((st, m))
        params = list(mods[st].parameters())
        if split:  # input gradient now, weight gradient at this op's W
            if st > 0:
                (gx,) = torch.autograd.grad(y, [x], g, retain_graph=True)
                send(gx, f_owner[(st - 1, m)], 1, st, m)
            outputs[(st, m)] = (x, y, g)
            return
        torch.autograd.backward(y, g, inputs=[x, *params] if st > 0 else params)
        if st > 0:
            send(x.grad, f_owner[(st - 1, m)], 1, st, m)

    def weight(st: int, m: int) -> None:
        x, y, g = outputs.pop((st, m))
        torch.autograd.backward(y, g, inputs=list(mods[st].parameters()))

    # NOTE: warm up every autograd path the ops take: the first backward from a non-scalar gradient takes
    # ~0.4 s.
    for mod in mods.values():
        params = list(mod.parameters())
        for needs_input_grad in (False, True):
            x = torch.randn(shape, device=device, requires_grad=needs_input_grad)
            y = mod(x)
            g = torch.ones_like(y)
            if needs_input_grad:
                torch.autograd.grad(y, [x], g, retain_graph=True)
            torch.autograd.backward(y, g, inputs=[x, *params] if needs_input_grad else params)
            loss = torch.nn.functional.mse_loss(mod(x), torch.zeros(shape, device=device))
            torch.autograd.backward(loss, inputs=params)
        for p in params:
            p.grad = None

    latency = _ping_pong(rank, world, torch.zeros(shape, device=device), tag=2 * S * N) if world > 1 else 0.0

    lo, hi = int(s.rank_ptr[rank]), int(s.rank_ptr[rank + 1])
    records = []
    dist.barrier()
    t0 = time.perf_counter()
    for i in range(lo, hi):
        k, st, m = int(s.kind[i]), int(s.stage[i]), int(s.mb[i])
        # NOTE: inputs are received before the clock starts: an op starts when its inputs have arrived.
        if k in (F, FB):
            prefetch(st, m, grad=False)
        bst, bm = (int(s.stage2[i]), int(s.mb2[i])) if k == FB else (st, m)
        if k in (B, B_INPUT, FB):
            prefetch(bst, bm, grad=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter() - t0
        if k == F:
            forward(st, m)
        elif k in (B, B_INPUT):
            backward(st, m, split=k == B_INPUT)
        elif k == W:
            weight(st, m)
        else:  # F&B: run one after the other (no overlapped kernels in this toy model)
            forward(st, m)
            backward(bst, bm, split=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        records.append(
            (k, st, m, bst if k == FB else -1, bm if k == FB else -1, start, time.perf_counter() - t0)
        )
    for h in sends:
        h.wait()
    dist.barrier()
    # NOTE: numpy, not tensors: torch's queue would share tensor memory with a process that is exiting.
    grads = {st: [p.grad.detach().cpu().numpy().copy() for p in mod.parameters()] for st, mod in mods.items()}
    return {
        "rank": rank,
        "backend": dist.get_backend(),
        "records": records,
        "losses": losses,
        "grads": grads,
        "p2p_latency": latency,
        "host": socket.gethostname(),
        "t0": t0,
    }


def _ping_pong(rank: int, world: int, buf, tag: int, rounds: int = 20) -> float:
    """One-way point-to-point latency of one activation between ranks 0 and 1: half the median round trip."""
    if rank > 1:
        return 0.0
    trips = []
    for _ in range(rounds):
        t = time.perf_counter()
        if rank == 0:
            dist.send(buf, 1, tag=tag)
            dist.recv(buf, 1, tag=tag + 1)
        else:
            dist.recv(buf, 0, tag=tag)
            dist.send(buf, 0, tag=tag + 1)
        if buf.is_cuda:
            torch.cuda.synchronize()
        trips.append(time.perf_counter() - t)
    return statistics.median(trips) / 2


@dataclass(frozen=True)
class RunResult:
    """One measured step beside its reference and its simulation; times in seconds."""

    config: RunConfig
    schedule: Schedule
    backend: str
    loss: float
    reference_loss: float
    max_cosine_difference: float
    max_abs_grad_difference: float
    order_matches: list[bool]
    measured_start: Any
    measured_end: Any
    measured_times: ChunkTimes
    simulated: Any
    wall_seconds: float
    notes: tuple[str, ...] = ()
    """What limits the comparison of measured with simulated (e.g. more ranks than CPU cores)."""

    def _busy(self, rank: int) -> float:
        lo, hi = int(self.schedule.rank_ptr[rank]), int(self.schedule.rank_ptr[rank + 1])
        return float((self.measured_end[lo:hi] - self.measured_start[lo:hi]).sum())

    def measured(self) -> Makespan:
        makespan = float(self.measured_end.max() - self.measured_start.min())
        bubble = max(makespan - self._busy(r) for r in range(self.schedule.ranks))
        return Makespan(
            makespan=makespan, bubble=bubble, bubble_fraction=bubble / makespan if makespan else 0.0
        )

    def record(self) -> RunReport:
        """The result as `flyer pipeline run --json` prints it."""
        cfg, s, m, sim = self.config, self.schedule, self.measured(), self.simulated
        per_rank = [
            RunRank(
                rank=r,
                ops=s.num_ops(r),
                op_order_matches=self.order_matches[r],
                measured_busy=self._busy(r),
                measured_idle=m.makespan - self._busy(r),
                simulated_idle=sim.per_rank[r].idle,
            )
            for r in range(s.ranks)
        ]
        return RunReport(
            schedule=cfg.schedule,
            ranks=cfg.ranks,
            stages=s.stages,
            microbatches=cfg.microbatches,
            hidden=cfg.hidden,
            batch=cfg.batch,
            seed=cfg.seed,
            backend=self.backend,
            loss=self.loss,
            reference_loss=self.reference_loss,
            max_cosine_difference=self.max_cosine_difference,
            max_abs_grad_difference=self.max_abs_grad_difference,
            op_order_matches=all(self.order_matches),
            measured=m,
            simulated=Makespan(makespan=sim.makespan, bubble=sim.bubble, bubble_fraction=sim.bubble_fraction),
            chunk_times=MeanTimes(**self.measured_times.scalars()),
            p2p_latency=self.measured_times.latency,
            per_rank=per_rank,
            wall_seconds=self.wall_seconds,
            notes=list(self.notes),
        )


def _assemble(cfg: RunConfig, results: list[dict[str, Any]], wall: float) -> RunResult:
    s = generate(cfg.schedule, cfg.ranks, cfg.microbatches)
    start = np.zeros(len(s.kind))
    end = np.zeros(len(s.kind))
    order_ok = []
    durs: dict[int, list[float]] = {k: [] for k in range(5)}
    # NOTE: on one host perf_counter is one clock for every process: align the ranks on it, not on the
    # barrier.
    one_host = len({res["host"] for res in results}) == 1
    origin = min(res["t0"] for res in results)
    for r, res in enumerate(results):
        lo, hi = int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])
        got = [(k, st, m, s2, m2) for k, st, m, s2, m2, _, _ in res["records"]]
        want = [
            (int(s.kind[i]), int(s.stage[i]), int(s.mb[i]), int(s.stage2[i]), int(s.mb2[i]))
            for i in range(lo, hi)
        ]
        order_ok.append(got == want)
        shift = res["t0"] - origin if one_host else 0.0
        for j, (k, *_rest, a, z) in enumerate(res["records"][: hi - lo]):
            start[lo + j], end[lo + j] = a + shift, z + shift
            durs[k].append(z - a)
    loss = sum(v for res in results for v in res["losses"].values())
    ref_loss, ref_grads = reference(cfg, s.stages)
    summed: dict[int, list[Any]] = {}
    for res in results:
        for st, gs in res["grads"].items():
            summed[st] = gs if st not in summed else [a + b for a, b in zip(summed[st], gs)]
    cos_diff, abs_diff = 0.0, 0.0
    for st in range(s.stages):
        got_grad = torch.cat([torch.from_numpy(g).flatten() for g in summed[st]])
        want_grad = torch.cat([g.flatten() for g in ref_grads[st]])
        cos = torch.nn.functional.cosine_similarity(got_grad.double(), want_grad.double(), dim=0).item()
        cos_diff = max(cos_diff, 1.0 - cos)
        abs_diff = max(abs_diff, (got_grad - want_grad).abs().max().item())
    med = {k: float(np.median(v)) if v else None for k, v in durs.items()}
    f = med[F] or 1e-6
    bfull = med[B] or ((med[B_INPUT] or 0) + (med[W] or 0)) or 2 * f
    w = min(med[W] or bfull / 2, bfull)
    times = ChunkTimes(f=f, b=bfull, w=w, fb=med[FB] or f + bfull, latency=results[0]["p2p_latency"])
    sim = simulate_schedule(s, times)
    notes = []
    cores = host.threads_available()
    if results[0]["backend"] == "gloo" and one_host and cfg.ranks > cores:
        notes.append(
            f"{cfg.ranks} ranks share {cores} CPU cores here: measured times include waiting for a core, "
            "which the simulation (one device per rank) does not model"
        )
    return RunResult(
        config=cfg,
        schedule=s,
        backend=results[0]["backend"],
        loss=loss,
        reference_loss=ref_loss,
        max_cosine_difference=cos_diff,
        max_abs_grad_difference=abs_diff,
        order_matches=order_ok,
        measured_start=start,
        measured_end=end,
        measured_times=times,
        simulated=sim,
        wall_seconds=wall,
        notes=tuple(notes),
    )


def run(cfg: RunConfig, *, backend: str | None = None) -> RunResult:
    """Spawn ``cfg.ranks`` processes here (or, under torchrun, be one of them) and run one training step.

    Under torchrun every rank returns the assembled result (gathered to all ranks).
    """
    if backend is not None and backend not in BACKENDS:
        raise InputError(f"unknown backend '{backend}'", field="backend", hint="choose gloo or nccl")
    generate(cfg.schedule, cfg.ranks, cfg.microbatches)  # bad configurations fail before any process starts
    if backend == "nccl":
        if torch.cuda.device_count() < (1 if dist_env() else cfg.ranks):
            raise InputError(
                f"nccl needs {cfg.ranks} CUDA devices here, found {torch.cuda.device_count()}",
                field="backend",
                hint="use --backend gloo on CPU",
            )

    t0 = time.perf_counter()
    env = dist_env()
    if env is not None:
        if env.world_size != cfg.ranks:
            raise InputError(
                f"--ranks {cfg.ranks} does not match torchrun's WORLD_SIZE {env.world_size}", field="ranks"
            )
        with process_group(backend):
            mine = rank_main(env.rank, env.world_size, cfg)
            results: list[Any] = [None] * env.world_size
            dist.all_gather_object(results, mine)
    else:
        results = launch_local(rank_main, cfg.ranks, cfg, backend=backend)
    return _assemble(cfg, results, time.perf_counter() - t0)


def check(result: RunResult, tolerance: float = 1e-6) -> None:
    """Raise CheckFailed if loss, gradients or op order differ from the reference and the generated
    schedule."""
    if not all(result.order_matches):
        bad = [r for r, ok in enumerate(result.order_matches) if not ok]
        raise CheckFailed(f"measured op order differs from the generated schedule on ranks {bad}")
    if abs(result.loss - result.reference_loss) > 1e-5 * max(1.0, abs(result.reference_loss)):
        raise CheckFailed(f"loss {result.loss!r} differs from the single-process {result.reference_loss!r}")
    if result.max_cosine_difference > tolerance:
        raise CheckFailed(
            f"gradients differ from the single-process run: cosine difference "
            f"{result.max_cosine_difference:.3g} > {tolerance:g}"
        )


__all__ = ["BACKENDS", "OP_KINDS", "RunConfig", "RunResult", "check", "rank_main", "reference", "run"]
