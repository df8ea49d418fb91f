"""All three benchmarks in order (raw I/O, metadata, the sort), one verdict per figure against the
thresholds: a post-deploy or CI gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ... import host
from ...gates import Check
from ...io import format_size, to_builtins
from .graysort import SortJob, SortResult, measure_sort, require_engines
from .metadata import MetaJob, MetaResult, measure_metadata
from .raycluster import probe_ray
from .reports import IoReport, SuiteCounts, SuiteReport
from .scratch import check_target
from .thresholds import Metric, Thresholds, Verdict, judge
from .workloads import GiB, IoJob, Progress, measure_io, resolve_engine, sub_progress

IO_PATTERNS = ("seq-write", "seq-read", "rand-read", "rand-write")
"""The I/O jobs of the suite, in the order they run (each at its pattern's default block size)."""


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
    ray_address: str | None = None
    ray_timeout: float = 30.0

    def io_jobs(self) -> list[IoJob]:
        return [
            IoJob(pattern=p, size=self.io_size, jobs=self.jobs, iodepth=self.iodepth, direct=self.direct)
            for p in IO_PATTERNS
        ]


@dataclass(frozen=True)
class SuiteResult:
    path: str
    io: tuple[IoReport, ...]
    meta: MetaResult
    sort: SortResult | None
    thresholds: Thresholds
    verdicts: tuple[Verdict, ...]

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "fail"]

    def checks(self) -> list[Check]:
        """The gate as JUnit testcases, one per figure: a fail fails (the figure against its limit), a warn
        passes, a figure without a threshold is skipped."""
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
            summary=list(self.verdicts),
            counts=SuiteCounts(*counts),
            passed=not self.failed,
            thresholds={"warn_margin": self.thresholds.warn_margin, **to_builtins(self.thresholds)},
            io=list(self.io),
            meta=self.meta.report(),
            sort=None if self.sort is None else self.sort.report(),
        )


def metrics_of(io: list[IoReport], meta: MetaResult, sort: SortResult | None) -> list[Metric]:
    """The figures a suite judges, in the order its summary lists them."""
    out = []
    for r in io:
        p, key = r.pattern, r.pattern.replace("-", "_")
        seq, label = p.startswith("seq"), f"{p} {format_size(r.block)}"
        out.append(Metric(f"{key}_gib_s", label, r.gib_s, "GiB/s", reference=r.published, primary=seq))
        out.append(Metric(f"{key}_iops", label, r.iops, "IOPS", primary=not seq))
        if r.latency.p99_us is not None:
            p99 = r.latency.p99_us / 1e3
            out.append(Metric(f"{key}_p99_ms", f"{p} p99", p99, "ms", maximum=True, primary=False))
    for ph in meta.phases:
        out.append(Metric(f"meta_{ph.name}_ops_s", f"meta {ph.name}", ph.ops_s, "ops/s"))
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
    """Raw I/O (four patterns), metadata, then the sort under ``path``, judged against ``thresholds``.

    What would stop a later step (the path, free space, the engines, the Ray address) is checked before the
    first one starts. Example: ``measure_all("/mnt/3fs", thresholds=load_thresholds("cluster.yaml"))``.
    """
    job = job or SuiteJob()
    thresholds = thresholds or Thresholds()
    io_jobs = job.io_jobs()
    sort_need = 0 if job.sort is None else int(3.2 * job.sort.records * 100)
    check_target(path, need_bytes=max(j.file_bytes * j.jobs for j in io_jobs), what="the suite")
    resolve_engine(job.engine)
    if job.sort is not None:
        require_engines()
        check_target(path, need_bytes=sort_need, what="the sort")
        if job.ray_address is not None:
            probe_ray(job.ray_address, job.ray_timeout)
    steps = len(io_jobs) + 1 + (3 if job.sort is not None else 0)
    io = []
    for i, ij in enumerate(io_jobs):
        io.append(
            measure_io(
                path, ij, engine=job.engine, progress=sub_progress(progress, i / steps, (i + 1) / steps)
            )
        )
    done = len(io_jobs)
    meta = measure_metadata(path, job.meta, progress=sub_progress(progress, done / steps, (done + 1) / steps))
    sort = None
    if job.sort is not None:
        sort = measure_sort(
            path,
            job.sort,
            ray_address=job.ray_address,
            ray_timeout=job.ray_timeout,
            progress=sub_progress(progress, (done + 1) / steps, 1.0),
        )
    verdicts = judge(metrics_of(io, meta, sort), thresholds)
    return SuiteResult(str(Path(path)), tuple(io), meta, sort, thresholds, tuple(verdicts))
