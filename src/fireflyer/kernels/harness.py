"""`flyer kernels bench`: every case of a suite on every backend that can run it, checked, then timed.

For each case: make the inputs (seeded), compute the ground truth (mla: the reference, itself checked
against the naive repeat-KV reference; gemm: the product of the unquantized inputs), run each backend once
and check it, then time it with the shared protocol (``fireflyer.timing``: warm-up, 30 samples, median
with p20/p80; CUDA events and an L2 flush on GPU; fixed CPU threads). Figures: FLOPs and bytes by the
anchors' formulas, achieved TFLOP/s and GB/s, and their percentages of the device's roof. ``ep`` cases run
on N ranks (spawned here, or the job's own under torchrun).
"""

from __future__ import annotations

import functools
import gc
import os
import platform
from collections.abc import Callable
from typing import Any

import msgspec
import torch
import torch.distributed as dist

from .. import __version__, host
from .. import device as devices
from ..cluster import dist_env, launch_local, process_group
from ..errors import InputError
from ..timing import SAMPLES, WARMUP, time_fn
from . import ep, ep_routing, gemm, mla, rooflines, suites
from .backends import VENDORS, Unsupported, availability, unsupported
from .cases import Case, EpCase, GemmCase, MlaCase
from .planning import plan_run
from .results import SCHEMA, Report, Result, Skipped, describe, shape_text

Progress = Callable[..., None]


def environment(dev: torch.device, threads: int | None) -> dict[str, Any]:
    """Versions and machine facts a result is only meaningful with."""
    vendor = {}
    for v in VENDORS.values():
        a = availability(v.op, v.backend, str(dev) if dev.type == "cuda" else "cpu")
        vendor[v.backend] = (
            {"version": a.version, "distribution": a.distribution, "unofficial": a.unofficial}
            if a.distribution or a.version
            else None
        )
    return {
        "fireflyer": __version__,
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
        "driver": host.nvidia_driver_version(),
        "device": dev.type,
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else host.cpu_model()[0],
        "host": host.hostname(),
        "threads": threads if dev.type == "cpu" else None,
        "vendor": vendor,
    }


def _pct(value: float | None, peak: float | None) -> float | None:
    if value is None or not peak:
        return None
    return 100.0 * value / peak


def _figures(
    cost_flops: float,
    cost_bytes: float,
    median_s: float | None,
    roof: rooflines.Roof | None,
    dtype: str | None,
    bw: str,
) -> dict[str, Any]:
    tflops = cost_flops / median_s / 1e12 if median_s and cost_flops else None
    gbps = cost_bytes / median_s / 1e9 if median_s else None
    peak_dtype = dtype if cost_flops else None
    out = {
        "flops": cost_flops,
        "bytes": cost_bytes,
        "tflops": tflops,
        "gbps": gbps,
        "peak_dtype": peak_dtype,
        "bw_roof": bw,
    }
    return out | _percentages(tflops, gbps, peak_dtype, bw, roof)


def _percentages(
    tflops: float | None, gbps: float | None, dtype: str | None, bw: str, roof: rooflines.Roof | None
) -> dict[str, float | None]:
    peak = roof.peak(dtype) if roof is not None and dtype else None
    roof_bw = None if roof is None else roof.link_gbps if bw == "link" else roof.memory_gbps
    return {"pct_peak_flops": _pct(tflops, peak), "pct_peak_bw": _pct(gbps, roof_bw)}


def _against(rows: list[Result], roof: rooflines.Roof) -> list[Result]:
    """The same results with their percentages of another roof."""
    return [
        msgspec.structs.replace(r, **_percentages(r.tflops, r.gbps, r.peak_dtype, r.bw_roof, roof))
        for r in rows
    ]


def _timing(t: dict[str, Any] | None) -> dict[str, Any]:
    if not t:
        return {"median_us": None, "p20_us": None, "p80_us": None, "best_us": None, "samples": 0, "warmup": 0}
    return {k: t[k] for k in ("median_us", "p20_us", "p80_us", "best_us", "samples", "warmup")} | {
        "threads": t.get("threads"),
        "l2_flushed": bool(t.get("l2_flushed")),
    }


def _free(dev: torch.device) -> None:
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def _run_single(
    case: MlaCase | GemmCase,
    backends: list[str],
    dev: torch.device,
    roof: rooflines.Roof | None,
    *,
    threads: int | None,
    warmup: int,
    samples: int,
    described: str,
    skipped: list[Skipped],
    step: Progress,
) -> list[Result]:
    mod = mla if isinstance(case, MlaCase) else gemm
    try:
        if isinstance(case, MlaCase):
            inp: Any = mla.make_inputs(case, dev)
        else:
            inp = gemm.make_inputs(case, dev, ue8m0=gemm.wants_ue8m0(dev))
    except InputError as e:
        for b in backends:
            skipped.append(Skipped(op=case.op, backend=b, reason=e.message, shape=case.shape()))
        step(len(backends))
        return []
    cost = inp.cost()
    dtype = mod.flops_dtype(dev)
    own = None
    if isinstance(case, MlaCase):
        ref = mla.reference(inp)
        own = mla.self_check(inp, ref)
        verify = functools.partial(mla.check, ref=ref, case=case)
        del ref  # NOTE: verify holds the ground truth now, and frees it with itself below
    else:
        verify = functools.partial(gemm.check, truth_=gemm.truth(inp), inp=inp)
    rows = []
    for b in backends:
        step(0, description=f"{case.op} {b}")
        inp.notes.clear()
        try:
            why = unsupported(case, b)
            if why is not None:
                raise Unsupported(why)
            fn = mod.PREPARE[b](inp)
            out = fn()
        except Unsupported as e:
            skipped.append(Skipped(op=case.op, backend=b, reason=str(e), shape=case.shape()))
            step(1)
            continue
        except RuntimeError as e:
            if b not in VENDORS:
                raise
            # NOTE: a library check we do not know of yet: this case, not the whole run
            why = f"{b} refused it: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"
            skipped.append(Skipped(op=case.op, backend=b, reason=why, shape=case.shape()))
            step(1)
            continue
        devices.synchronize(dev)
        chk = verify(out)
        correct, detail = chk.correct, dict(chk.detail)
        if own is not None and b == "reference":
            detail["against_repeat_kv_reference"] = own.detail
            correct = correct and own.correct
        del out
        timing = None
        if correct:
            timing = time_fn(fn, warmup=warmup, samples=samples, device=dev.type, threads=threads).as_dict(
                "us"
            )
        median_s = timing["median_us"] / 1e6 if timing else None
        rows.append(
            Result(
                op=case.op,
                backend=b,
                device=described,
                shape=case.shape(),
                correct=correct,
                error_metric=chk.error_metric,
                error_kind="cos_diff" if isinstance(case, MlaCase) else "calc_diff",
                check=detail,
                notes=list(inp.notes),
                **_timing(timing),
                **_figures(cost.flops, cost.bytes, median_s, roof, dtype, "memory"),
            )
        )
        step(1)
    del inp, verify
    _free(dev)
    return rows


def _merge_ranks(
    case: EpCase, backend: str, per_rank: list[ep.RankResult], described: str, roof: rooflines.Roof | None
) -> tuple[list[Result], Skipped | None]:
    first = per_rank[0]
    if first.skipped:
        return [], Skipped(op="ep", backend=backend, reason=first.skipped, shape=case.shape())
    correct = all(r.correct for r in per_rank)
    diff = max(r.error_metric for r in per_rank)
    rows = []
    for phase in ("dispatch", "combine"):
        timed = [r for r in per_rank if getattr(r, phase)]
        slow = max(timed, key=lambda r: getattr(r, phase)["median_us"]) if timed and correct else None
        t = getattr(slow, phase) if slow else None
        nbytes = getattr(slow or first, f"{phase}_bytes")
        median_s = t["median_us"] / 1e6 if t else None
        rows.append(
            Result(
                op="ep",
                backend=backend,
                device=described,
                shape={**case.shape(), "phase": phase, "ranks": len(per_rank)},
                correct=correct,
                error_metric=diff,
                error_kind="calc_diff",
                check={
                    "counts_exact": all(r.counts_ok for r in per_rank),
                    "calc_diff": diff,
                    "tolerance": ep.TOLERANCE,
                },
                notes=sorted({n for r in per_rank for n in r.notes}),
                ranks=[
                    {
                        "rank": r.rank,
                        "median_us": getattr(r, phase).get("median_us") if getattr(r, phase) else None,
                        "bytes": getattr(r, f"{phase}_bytes"),
                        "correct": r.correct,
                    }
                    for r in per_rank
                ],
                **_timing(t),
                **_figures(0.0, nbytes, median_s, roof, None, "link"),
            )
        )
    return rows, None


def check_sizes(cases: list[Case], dev: torch.device, world: int, local: int) -> None:
    """Refuse (exit 2), before any case runs, a case whose inputs and references need more memory than
    ``dev`` has: the error names the case, the bytes and the memory available. ``ep`` cases count one
    rank on a GPU, and the ``local`` ranks sharing this machine on CPU."""
    for c in cases:
        if isinstance(c, MlaCase):
            need = mla.working_bytes(c)
        elif isinstance(c, GemmCase):
            need = gemm.working_bytes(c)
        else:
            need = ep_routing.working_bytes(c, world) * (local if dev.type == "cpu" else 1)
        what = f"{c.op} case ({shape_text(c.shape())}) with its reference"
        devices.check_fits(need, dev, what, field="suite")


def _peaks(roof: rooflines.Roof) -> str:
    return ", ".join(f"{k} {v:g} TFLOP/s" for k, v in sorted(roof.peak_tflops.items()))


def default_ranks(dev: torch.device) -> int:
    """Ranks for ep cases when not given: one per GPU, or 2 on CPU."""
    return torch.cuda.device_count() if dev.type == "cuda" else 2


def _run_ep(
    cases: list[EpCase],
    backends: list[str],
    dev: torch.device,
    *,
    nproc: int | None,
    threads: int | None,
    warmup: int,
    samples: int,
) -> tuple[int, list[list[list[ep.RankResult]]]]:
    env = dist_env()
    world = env.world_size if env is not None else nproc or default_ranks(dev)
    if env is not None and nproc is not None and nproc != env.world_size:
        raise InputError(
            f"--nproc {nproc} under torchrun, whose job has {env.world_size} ranks", field="nproc"
        )
    if world < 1:
        raise InputError(f"--nproc must be at least 1, got {world}", field="nproc")
    for c in cases:
        if c.experts % world:
            raise InputError(
                f"ep case {c.shape()}: {c.experts} experts do not spread evenly over {world} ranks",
                field="nproc",
            )
    if dev.type == "cuda" and env is None and torch.cuda.device_count() < world:
        raise InputError(
            f"{world} ranks need {world} GPUs; this machine has {torch.cuda.device_count()}", field="nproc"
        )
    per_rank_threads = None
    if dev.type == "cpu":
        per_rank_threads = max(
            1, (threads or host.threads_available()) // (env.local_world_size if env else world)
        )
    options = {"threads": per_rank_threads, "warmup": warmup, "samples": samples}
    if env is None:
        backend = "nccl" if dev.type == "cuda" else "gloo"
        results = launch_local(ep.run_rank, world, cases, backends, options, backend=backend)
        return world, [
            [[results[r][ci][bi] for r in range(world)] for bi in range(len(backends))]
            for ci in range(len(cases))
        ]
    with process_group("nccl" if dev.type == "cuda" else "gloo"):
        mine = ep.run_rank(env.rank, world, cases, backends, options)
        gathered: list[Any] = [None] * world if env.rank == 0 else []
        dist.gather_object(mine, gathered if env.rank == 0 else None, dst=0)
    if env.rank != 0:
        return world, []
    return world, [
        [[gathered[r][ci][bi] for r in range(world)] for bi in range(len(backends))]
        for ci in range(len(cases))
    ]


def bench(
    *,
    ops: list[str] | None = None,
    backends: list[str] | None = None,
    device: str = "auto",
    suite: str | os.PathLike | None = None,
    quick: bool = False,
    threads: int | None = None,
    nproc: int | None = None,
    warmup: int = WARMUP,
    samples: int = SAMPLES,
    progress: Progress | None = None,
) -> Report | None:
    """Run a suite (a file, or ``default`` / ``quick`` shipped) and return its results document.

    Under torchrun every rank calls this; the ep cases run on all of them and rank 0 gets the document
    (other ranks get None). Results above 100% of the roof and results that fail their check are in the
    document; ``Report.over_roof()`` and ``Report.incorrect()`` list them for the caller to fail on.
    """
    if suite is not None and quick:
        raise InputError("give --suite or --quick, not both", field="suite")
    if samples < 30 or warmup < 1:
        raise InputError(
            f"the timing protocol takes at least 30 samples and 1 warm-up, got {samples} and {warmup}",
            field="samples",
        )
    if threads is not None and not 1 <= threads <= host.threads_available():
        raise InputError(f"threads must be 1..{host.threads_available()}, got {threads}", field="threads")
    if nproc is not None and nproc < 1:
        raise InputError(f"--nproc must be at least 1, got {nproc}", field="nproc")
    s = suites.load(suite if suite is not None else ("quick" if quick else "default"))
    dev = devices.choose(device)
    p = plan_run(list(s.cases), ops, backends, str(dev) if dev.type == "cuda" else "cpu")
    env = dist_env()
    world = env.world_size if env is not None else nproc or default_ranks(dev)
    cores = max(2, host.threads_available())
    if env is None and dev.type == "cpu" and world > cores and any(c.op == "ep" for c in p.cases):
        raise InputError(f"--nproc {world} CPU ranks would time-share the {cores} cores here", field="nproc")
    check_sizes(p.cases, dev, world, env.local_world_size if env is not None else world)
    rank0 = env is None or env.rank == 0
    cpu_threads = (threads or host.threads_available()) if dev.type == "cpu" else None
    roof = None
    notes: list[str] = []
    if dev.type == "cpu":
        roof = rooflines.for_cpu() if rank0 else None
    else:
        nodes = 1
        if env is not None:
            nodes = max(1, env.world_size // max(env.local_world_size, 1))
        roof = rooflines.for_gpu(torch.cuda.get_device_name(dev), nodes=nodes)
        if roof is None:
            notes.append(
                f"no hardware profile matches {torch.cuda.get_device_name(dev)!r}: no roof percentages"
            )
    if roof is not None:
        notes.append(f"roof: {roof.name} ({roof.source})")
    described = (
        devices.describe(dev) if dev.type == "cuda" else f"cpu ({host.cpu_model()[0]}, {cpu_threads} threads)"
    )
    single = [(i, c) for i, c in enumerate(p.cases) if not isinstance(c, EpCase)]
    eps = [(i, c) for i, c in enumerate(p.cases) if isinstance(c, EpCase)]
    step = progress or (lambda *a, **k: None)
    by_case: dict[int, list[Result]] = {}
    skipped = list(p.skipped)
    with torch.inference_mode():
        if eps and p.backends.get("ep") and dev.type == "cuda" and env is None and nproc is None:
            if default_ranks(dev) < 2:
                why = "needs 2 or more GPUs (one per rank); this machine has 1 (--nproc 1 runs one rank)"
                for _, c in eps:
                    for b in p.backends["ep"]:
                        skipped.append(Skipped(op="ep", backend=b, reason=why, shape=c.shape()))
                eps = []
        if eps and p.backends.get("ep"):
            step(0, description=f"ep on {nproc or (env.world_size if env else default_ranks(dev))} ranks")
            world, merged = _run_ep(
                [c for _, c in eps],
                p.backends["ep"],
                dev,
                nproc=nproc,
                threads=cpu_threads,
                warmup=warmup,
                samples=samples,
            )
            for (i, ep_case), per_backend in zip(eps, merged):
                for b, per_rank in zip(p.backends["ep"], per_backend):
                    got, skip = _merge_ranks(ep_case, b, per_rank, described, roof)
                    by_case.setdefault(i, []).extend(got)
                    if skip is not None:
                        skipped.append(skip)
                step(1)
            if env is not None:
                notes.append(f"ep ran on the torchrun job's {world} ranks")
        if not rank0:
            return None
        for i, case in single:
            by_case[i] = _run_single(
                case,
                p.backends.get(case.op, []),
                dev,
                roof,
                threads=cpu_threads,
                warmup=warmup,
                samples=samples,
                described=described,
                skipped=skipped,
                step=step,
            )
    rows = [r for i in sorted(by_case) for r in by_case[i]]
    report = Report(
        schema=SCHEMA,
        suite={"name": s.name, "path": s.path, "cases": len(p.cases)},
        env=environment(dev, cpu_threads) | {"device_described": described},
        roof=roof.to_dict() if roof is not None else None,
        results=rows,
        skipped=skipped,
        notes=notes,
    )
    if dev.type == "cpu" and roof is not None and report.over_roof():
        # NOTE: a CPU roof measured while other work shared the cores understates the machine: measure it
        # again (the cache keeps each figure's highest); a result still above it is reported, not failed
        old = roof
        roof = old.higher(rooflines.for_cpu(refresh=True))
        report.results = _against(report.results, roof)
        report.roof = roof.to_dict()
        report.notes.append(
            f"a result exceeded the CPU roof ({_peaks(old)}, {old.memory_gbps:g} GB/s), so it was measured "
            f"again; the higher of each: {_peaks(roof)}, {roof.memory_gbps:g} GB/s"
        )
        for r, which, pct in report.over_roof():
            report.notes.append(
                f"{describe(r)} reached {pct:.1f}% of the measured CPU {which}: a CPU roof is a lower bound "
                "of the machine (other work on the cores lowers it), so this is reported, not failed"
            )
    return report
