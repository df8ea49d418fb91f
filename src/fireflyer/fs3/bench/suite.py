"""Every benchmark in order (raw I/O, metadata, optionally the KVCache reads, the sort), one verdict per
figure against the thresholds: a post-deploy or CI gate. With a Ray address, io, meta and kvcache run on
every chosen client node at once and the thresholds judge their aggregates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ... import host
from ...errors import InputError
from ...gates import Check
from ...io import format_size, to_builtins
from .clients import BenchHosts
from .fio import fio_version
from .fleet import bench_io, bench_kvcache, bench_meta
from .graysort import SortJob, SortResult, measure_sort, require_engines
from .kvcache import KV_BLOCK, KvJob
from .metadata import MetaJob, MetaResult
from .raycluster import probe_ray
from .reports import (
    Comparison,
    IoClientsReport,
    IoReport,
    KvClientsReport,
    KvReport,
    MetaClientsReport,
    MetaReport,
    PublishedReport,
    SuiteCounts,
    SuiteReport,
)
from .scratch import check_target
from .thresholds import Metric, Thresholds, Verdict, judge
from .workloads import GiB, IoJob, Progress, resolve_engine, sub_progress

IO_PATTERNS = ("seq-write", "seq-read", "rand-read", "rand-write")
"""The I/O jobs of the suite, in the order they run (each at its pattern's default block size)."""
KV_FILES = 8
"""Files of the suite's KVCache step (``io_size`` bytes over them)."""


@dataclass(frozen=True)
class SuiteJob:
    io_size: int = 4 * GiB
    jobs: int = 4
    iodepth: int = 16
    direct: bool = True
    engine: str = "auto"
    meta: MetaJob = field(default_factory=MetaJob)
    sort: SortJob | None = field(default_factory=SortJob)
    """None: no sort (no Smallpond needed)."""
    kvcache_seconds: float | None = None
    """Seconds of KVCache reads after meta (``kv_job``); None: no kvcache step."""
    on: BenchHosts = BenchHosts()
    """Where io, meta and kvcache run (this host, or the chosen client nodes of a Ray cluster at once) and
    the sort's Ray (one started for the run, or that cluster)."""

    def io_jobs(self) -> list[IoJob]:
        return [
            IoJob(pattern=p, size=self.io_size, jobs=self.jobs, iodepth=self.iodepth, direct=self.direct)
            for p in IO_PATTERNS
        ]

    def kv_job(self) -> KvJob | None:
        """KV_FILES files of ``io_size`` bytes together (at least one block each), read ``jobs`` x
        ``iodepth`` at a time for ``kvcache_seconds``."""
        if self.kvcache_seconds is None:
            return None
        return KvJob(
            files=KV_FILES,
            file_size=max(self.io_size // KV_FILES, KV_BLOCK),
            concurrency=self.jobs * self.iodepth,
            jobs=self.jobs,
            seconds=self.kvcache_seconds,
            direct=self.direct,
        )


@dataclass(frozen=True)
class SuiteResult:
    path: str
    io: tuple[IoReport | IoClientsReport, ...]
    meta: MetaResult | MetaReport | MetaClientsReport
    sort: SortResult | None
    thresholds: Thresholds
    verdicts: tuple[Verdict, ...]
    kvcache: KvReport | KvClientsReport | None = None
    ray_address: str | None = None
    """Where io ran on every chosen client at once (None: this host)."""

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "fail"]

    @property
    def clients(self) -> int | None:
        first = self.io[0] if self.io else None
        return first.aggregate.clients if isinstance(first, IoClientsReport) else None

    def failure(self) -> str:
        """What a failed gate says: how many figures missed their threshold, and which."""
        names = ", ".join(v.check for v in self.failed)
        return f"{len(self.failed)} of {len(self.verdicts)} figures missed their threshold: {names}"

    def checks(self) -> list[Check]:
        """The gate as JUnit testcases, one per figure (on several clients, their aggregate): a fail fails
        (the figure against its limit), a warn passes, a figure without a threshold is skipped."""
        return [
            Check(
                name=v.check,
                classname="fs3.bench",
                passed=None if v.status is None else v.status != "fail",
                figure=v.measured,
                limit=v.limit,
                unit=v.unit,
                message=v.why or ("no threshold" if v.status is None else ""),
            )
            for v in self.verdicts
        ]

    def report(self) -> SuiteReport:
        counts = (sum(v.status == s for v in self.verdicts) for s in ("pass", "warn", "fail", None))
        return SuiteReport(
            path=self.path,
            host=host.hostname(),
            ray_address=self.ray_address,
            clients=self.clients,
            summary=list(self.verdicts),
            counts=SuiteCounts(*counts),
            passed=not self.failed,
            thresholds={"warn_margin": self.thresholds.warn_margin, **to_builtins(self.thresholds)},
            io=list(self.io),
            meta=self.meta.report() if isinstance(self.meta, MetaResult) else self.meta,
            kvcache=self.kvcache,
            sort=None if self.sort is None else self.sort.report(),
        )


def _bound(published: list[Comparison]) -> PublishedReport | None:
    """Of the published figures scaled to a cluster, the one that bounds its aggregate (the smallest)."""
    return min((c.published for c in published), key=lambda p: p.scaled, default=None)


def _io_metrics(r: IoReport | IoClientsReport) -> list[Metric]:
    p, key = r.pattern, r.pattern.replace("-", "_")
    seq, scope, worst = p.startswith("seq"), "", ""
    if isinstance(r, IoClientsReport):
        a, block, ref = r.aggregate, r.clients[0].result.block, _bound(r.published)
        gib_s, iops, p99_us = a.gib_s, a.iops, a.latency.p99_us_max
        scope, worst = f"aggregate of {a.clients} clients", " (worst)"
    else:
        block, ref, gib_s, iops, p99_us = r.block, r.published, r.gib_s, r.iops, r.latency.p99_us
    label = f"{p} {format_size(block)}"
    out = [
        Metric(f"{key}_gib_s", label, gib_s, "GiB/s", reference=ref, primary=seq, scope=scope),
        Metric(f"{key}_iops", label, iops, "IOPS", primary=not seq, scope=scope),
    ]
    if p99_us is not None:
        p99_label, p99 = f"{p} p99{worst}", p99_us / 1e3
        out.append(Metric(f"{key}_p99_ms", p99_label, p99, "ms", maximum=True, primary=False, scope=scope))
    return out


def _meta_metrics(meta: MetaResult | MetaReport | MetaClientsReport) -> list[Metric]:
    scope = f"sum over {len(meta.clients)} clients" if isinstance(meta, MetaClientsReport) else ""
    return [
        Metric(f"meta_{ph.name}_ops_s", f"meta {ph.name}", ph.ops_s, "ops/s", scope=scope)
        for ph in meta.phases
    ]


def _kv_metrics(kv: KvReport | KvClientsReport) -> list[Metric]:
    n, scope, worst = 1, "", ""
    if isinstance(kv, KvClientsReport):
        a, block, ref = kv.aggregate, kv.clients[0].result.block, _bound(kv.published)
        gib_s, p99_us = a.gib_s, a.latency.p99_us_max
        n, scope, worst = a.clients, f"aggregate of {a.clients} clients", " (worst)"
    else:
        block, ref, gib_s, p99_us = kv.block, kv.published, kv.gib_s, kv.latency.p99_us
    label = f"kvcache {format_size(block)}"
    per_client = scope and f"{scope}, divided by {n}"
    out = [
        Metric("kvcache_gib_s", label, gib_s, "GiB/s", primary=n > 1, scope=scope),
        Metric(
            "kvcache_client_gib_s",
            label if n == 1 else "kvcache per client",
            gib_s / n,
            "GiB/s",
            reference=_per_node(ref),
            scope=per_client,
        ),
    ]
    if p99_us is not None:
        p99_label, p99 = f"kvcache p99{worst}", p99_us / 1e3
        out.append(Metric("kvcache_p99_ms", p99_label, p99, "ms", maximum=True, primary=False, scope=scope))
    return out


def _per_node(ref: PublishedReport | None) -> PublishedReport | None:
    """``ref`` for one node (what a per-client figure is set beside)."""
    if ref is None:
        return None
    return PublishedReport(
        figure=ref.figure,
        per_node=ref.per_node,
        nodes=1,
        unit=ref.unit,
        source=ref.source,
        scaled=ref.per_node,
    )


def metrics_of(
    io: list[IoReport | IoClientsReport],
    meta: MetaResult | MetaReport | MetaClientsReport,
    sort: SortResult | None,
    kvcache: KvReport | KvClientsReport | None = None,
) -> list[Metric]:
    """The figures a suite judges, in the order its summary lists them; on several clients, their
    aggregates (summed; latency the worst client's p99)."""
    out = [m for r in io for m in _io_metrics(r)] + _meta_metrics(meta)
    if kvcache is not None:
        out += _kv_metrics(kvcache)
    if sort is not None:
        label = f"sort {format_size(sort.job.size)}"
        out.append(Metric("sort_gib_s", label, sort.gib_s, "GiB/s", reference=sort.reference.report()))
        problems = float(len(sort.validation.problems))
        out.append(
            Metric("sort_problems", "sort output check", problems, "problems", maximum=True, limit=0.0)
        )
    return out


def measure_all(
    path: str | Path,
    job: SuiteJob | None = None,
    *,
    thresholds: Thresholds | None = None,
    progress: Progress | None = None,
) -> SuiteResult:
    """Raw I/O (four patterns), metadata, the KVCache reads (``job.kvcache_seconds``), then the sort under
    ``path``, judged against ``thresholds``. With a Ray address in ``job.on``, all but the sort run on every
    chosen client node at once and the thresholds judge the aggregates.

    What would stop a later step (the path, free space, the engines, the Ray address) is checked before the
    first one starts. Example: ``measure_all("/mnt/3fs", thresholds=load_thresholds("cluster.yaml"))``,
    ``measure_all("/mnt/3fs", SuiteJob(on=BenchHosts(address="10.0.0.1:6379", storage_nodes=180)))``.
    """
    job = job or SuiteJob()
    thresholds = thresholds or Thresholds()
    io_jobs, kv_job, on = job.io_jobs(), job.kv_job(), job.on
    if on.address is None:  # NOTE: on client nodes each checks its own mount and engines when its job starts
        need = max([j.file_bytes * j.jobs for j in io_jobs] + [kv_job.total_bytes if kv_job else 0])
        check_target(path, need_bytes=need, what="the suite")
        resolve_engine(job.engine)
        if kv_job is not None and fio_version() is None:
            raise InputError("fio is not installed", hint="apt-get install fio (kvcache runs through fio)")
    if job.sort is not None:
        require_engines()
        check_target(path, need_bytes=int(3.2 * job.sort.records * 100), what="the sort")
    probe_ray(on)
    steps = len(io_jobs) + 1 + (kv_job is not None) + (3 if job.sort is not None else 0)

    def part(i: int, n: int = 1) -> Progress | None:
        return sub_progress(progress, i / steps, (i + n) / steps)

    io = [bench_io(path, ij, engine=job.engine, on=on, progress=part(i)) for i, ij in enumerate(io_jobs)]
    done = len(io_jobs)
    meta = bench_meta(path, job.meta, on=on, progress=part(done))
    kvcache = None
    if kv_job is not None:
        done += 1
        kvcache = bench_kvcache(path, kv_job, on=on, progress=part(done))
    sort = None
    if job.sort is not None:
        sort = measure_sort(path, job.sort, on=on, progress=part(done + 1, 3))
    verdicts = judge(metrics_of(io, meta, sort, kvcache), thresholds)
    return SuiteResult(
        str(Path(path)), tuple(io), meta, sort, thresholds, tuple(verdicts), kvcache, on.address
    )
