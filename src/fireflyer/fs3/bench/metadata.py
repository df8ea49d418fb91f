"""Metadata operations under a path, in mdtest's pattern: create, stat, rename and delete of many small
files spread over many directories, on several threads; operations per second and latency per phase."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import host
from ..._core.fs3 import bench as _core
from .reports import MetaReport, PhaseReport
from .scratch import scratch_dir
from .workloads import Latency, Progress, summarize_latency

PHASES = ("create", "stat", "rename", "delete")


@dataclass(frozen=True)
class MetaJob:
    files: int = 20_000
    dirs: int = 100
    jobs: int = 8
    file_bytes: int = 0
    """Bytes written into each file when it is created (mdtest -w)."""


@dataclass(frozen=True)
class PhaseResult:
    name: str
    ops: int
    seconds: float
    latency: Latency

    @property
    def ops_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def report(self) -> PhaseReport:
        return PhaseReport(
            name=self.name,
            ops=self.ops,
            seconds=self.seconds,
            ops_s=self.ops_s,
            latency=self.latency,
        )


@dataclass(frozen=True)
class MetaResult:
    path: str
    job: MetaJob
    phases: tuple[PhaseResult, ...]

    def phase(self, name: str) -> PhaseResult:
        return next(p for p in self.phases if p.name == name)

    def report(self) -> MetaReport:
        return MetaReport(
            path=self.path,
            host=host.hostname(),
            files=self.job.files,
            dirs=self.job.dirs,
            jobs=self.job.jobs,
            file_bytes=self.job.file_bytes,
            phases=[p.report() for p in self.phases],
            published=None,
            notes=[
                "3FS publishes no metadata figure; stat runs right after create, so it may be served "
                "from the client's caches (as in mdtest without -N)"
            ],
        )


def measure_metadata(
    path: str | Path, job: MetaJob | None = None, *, progress: Progress | None = None
) -> MetaResult:
    """Run the metadata workload under ``path`` (in a directory of its own, removed afterwards).

    Example: ``measure_metadata("/mnt/3fs", MetaJob(files=100_000, dirs=1000, jobs=16))``.
    """
    job = job or MetaJob()
    need = job.files * max(job.file_bytes, 4096) + job.dirs * 4096
    with scratch_dir(
        path, need_bytes=need, need_inodes=job.files + job.dirs, what="the metadata workload"
    ) as run:
        report = None
        if progress is not None:

            def report(stage: str, done: int, total: int) -> None:
                phase = PHASES[min(done * len(PHASES) // max(total, 1), len(PHASES) - 1)]
                progress(f"metadata: {phase}", done / total if total else 0.0)

        raw = _core.run_metadata(str(run), job.files, job.dirs, job.jobs, job.file_bytes, report)
    phases = tuple(PhaseResult(p.name, p.ops, p.seconds, summarize_latency(p.latency_s)) for p in raw)
    return MetaResult(path=str(Path(path)), job=job, phases=phases)
