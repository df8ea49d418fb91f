"""``io``, ``meta`` and ``kvcache`` on every client node of a Ray cluster at once (where ``BenchHosts``
says), aggregated: throughput and operations summed over the clients, latency as the spread of the
clients' percentiles, and the aggregate beside the published figures scaled to the cluster (per storage
node when ``storage_nodes`` is given, per client node always)."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from pathlib import Path

from ...errors import InputError
from .clients import BenchHosts, ClientDone, run_on_clients
from .kvcache import KvJob, measure_kvcache
from .metadata import MetaJob, measure_metadata
from .published import Reference, io_cluster_references, kvcache_reference
from .reports import (
    Aggregate,
    ClientRun,
    Comparison,
    IoClientsReport,
    IoReport,
    KvClientsReport,
    KvReport,
    Latency,
    MetaClientsReport,
    MetaReport,
    PhaseAggregate,
    Spread,
    Window,
)
from .workloads import ENGINES, IoJob, Progress, measure_io

LATENCY_NOTE = (
    "latency across clients: the median of their p50s and the median and worst of their p99s, not a "
    "percentile of every I/O together"
)


def spread(latencies: Sequence[Latency]) -> Spread:
    """The median of the p50s, the median and the maximum of the p99s (clients without one left out)."""
    p50 = [x.p50_us for x in latencies if x.p50_us is not None]
    p99 = [x.p99_us for x in latencies if x.p99_us is not None]
    return Spread(
        p50_us_median=statistics.median(p50) if p50 else None,
        p99_us_median=statistics.median(p99) if p99 else None,
        p99_us_max=max(p99) if p99 else None,
    )


def aggregate(results: Sequence[IoReport | KvReport]) -> Aggregate:
    """Every client together: the sums of bytes, operations, GiB/s and IOPS; the latency spread."""
    return Aggregate(
        clients=len(results),
        bytes=sum(r.bytes for r in results),
        ops=sum(r.ops for r in results),
        gib_s=sum(r.gib_s for r in results),
        iops=sum(r.iops for r in results),
        latency=spread([r.latency for r in results]),
    )


def _runs(done: Sequence[ClientDone]) -> tuple[Window, list[ClientRun]]:
    t0 = min(d.started for d in done)
    window = Window(start_spread_s=max(d.started for d in done) - t0, wall_s=max(d.ended for d in done) - t0)
    runs = [
        ClientRun(node=d.node, started_s=d.started - t0, ended_s=d.ended - t0, result=d.result) for d in done
    ]
    return window, runs


def _compare(refs: Sequence[Reference], measured: float) -> list[Comparison]:
    return [Comparison(published=r.report(), share=r.share(measured)) for r in refs]


def measure_io_clients(
    path: str | Path,
    job: IoJob | None = None,
    *,
    on: BenchHosts,
    engine: str = "auto",
    progress: Progress | None = None,
) -> IoClientsReport:
    """``measure_io(path, job, engine=engine)`` on every chosen client node of ``on`` at once, aggregated.

    Example: ``measure_io_clients("/mnt/3fs", IoJob(size=64 << 30), on=BenchHosts(address="10.0.0.1:6379",
    storage_nodes=180))``.
    """
    job = job or IoJob()
    if engine not in ENGINES:
        raise InputError(f"expected one of {', '.join(ENGINES)}, got {engine!r}", field="engine")
    done = run_on_clients(
        functools.partial(measure_io, str(path), job, engine=engine), on=on, progress=progress
    )
    window, runs = _runs(done)
    agg = aggregate([d.result for d in done])
    refs = io_cluster_references(job.pattern, clients=len(done), storage_nodes=on.storage_nodes)
    return IoClientsReport(
        path=str(path),
        ray_address=on.cluster_address(),
        window=window,
        notes=[LATENCY_NOTE],
        pattern=job.pattern,
        storage_nodes=on.storage_nodes,
        clients=runs,
        aggregate=agg,
        published=_compare(refs, agg.gib_s),
    )


def measure_kvcache_clients(
    path: str | Path, job: KvJob | None = None, *, on: BenchHosts, progress: Progress | None = None
) -> KvClientsReport:
    """``measure_kvcache(path, job)`` on every chosen client node of ``on`` at once, aggregated, beside the
    published 40 GiB/s per client node times the clients."""
    job = job or KvJob()
    done = run_on_clients(functools.partial(measure_kvcache, str(path), job), on=on, progress=progress)
    window, runs = _runs(done)
    agg = aggregate([d.result for d in done])
    return KvClientsReport(
        path=str(path),
        ray_address=on.cluster_address(),
        window=window,
        notes=[LATENCY_NOTE],
        clients=runs,
        aggregate=agg,
        published=_compare([kvcache_reference(nodes=len(done))], agg.gib_s),
    )


def measure_meta_clients(
    path: str | Path, job: MetaJob | None = None, *, on: BenchHosts, progress: Progress | None = None
) -> MetaClientsReport:
    """The metadata workload on every chosen client node of ``on`` at once (each in a directory of its own
    under ``path``), its phases aggregated over the clients."""
    job = job or MetaJob()
    done = run_on_clients(functools.partial(_meta_report, str(path), job), on=on, progress=progress)
    window, runs = _runs(done)
    reports: list[MetaReport] = [d.result for d in done]
    phases = []
    for i, first in enumerate(reports[0].phases):
        each = [r.phases[i] for r in reports]
        phases.append(
            PhaseAggregate(
                name=first.name,
                ops=sum(p.ops for p in each),
                ops_s=sum(p.ops_s for p in each),
                latency=spread([p.latency for p in each]),
            )
        )
    notes = [
        "ops/s summed over the clients, each timing its phases on its own (they overlap as far as the "
        "clients keep pace); " + LATENCY_NOTE
    ]
    return MetaClientsReport(
        path=str(path),
        ray_address=on.cluster_address(),
        window=window,
        notes=notes,
        clients=runs,
        phases=phases,
    )


def _meta_report(path: str, job: MetaJob) -> MetaReport:
    return measure_metadata(path, job).report()


def bench_io(
    path: str | Path,
    job: IoJob | None = None,
    *,
    engine: str = "auto",
    on: BenchHosts | None = None,
    progress: Progress | None = None,
) -> IoReport | IoClientsReport:
    """``measure_io`` on this host (``on`` None or without an address), else ``measure_io_clients`` on the
    chosen client nodes of ``on``'s Ray cluster.

    Example: ``bench_io("/mnt/3fs", IoJob(pattern="rand-read"), on=BenchHosts(address="10.0.0.1:6379",
    clients=Clients.parse("8")))``.
    """
    if on is None or on.address is None:
        return measure_io(path, job, engine=engine, progress=progress)
    return measure_io_clients(path, job, on=on, engine=engine, progress=progress)


def bench_meta(
    path: str | Path,
    job: MetaJob | None = None,
    *,
    on: BenchHosts | None = None,
    progress: Progress | None = None,
) -> MetaReport | MetaClientsReport:
    """The metadata workload on this host, or on every chosen client of ``on`` (as ``bench_io``)."""
    if on is None or on.address is None:
        return measure_metadata(path, job, progress=progress).report()
    return measure_meta_clients(path, job, on=on, progress=progress)


def bench_kvcache(
    path: str | Path,
    job: KvJob | None = None,
    *,
    on: BenchHosts | None = None,
    progress: Progress | None = None,
) -> KvReport | KvClientsReport:
    """The KVCache reads on this host, or on every chosen client of ``on`` (as ``bench_io``)."""
    if on is None or on.address is None:
        return measure_kvcache(path, job, progress=progress)
    return measure_kvcache_clients(path, job, on=on, progress=progress)
