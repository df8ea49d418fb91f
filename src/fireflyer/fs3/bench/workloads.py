"""Raw I/O under a path: parallel reads or writes with a block size and queue depth, through fio when it is
installed and through the core's engine otherwise, reported as GiB/s, IOPS and p50/p99 latency beside
3FS's published per-client figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import __version__, host
from ..._core.fs3 import bench as _core
from ...errors import InputError
from ...host import GiB, KiB, MiB
from ...io import format_size
from ...timing import Timing, percentile
from .fio import fio_version, run_fio
from .published import io_reference
from .reports import IoReport, Latency
from .scratch import scratch_dir

PATTERNS = ("seq-read", "seq-write", "rand-read", "rand-write")
ENGINES = ("auto", "builtin", "fio")
MAX_RUNTIME = 7 * 86400.0
"""Seconds an I/O job may be asked to run (a week; far more overflows the core's clock arithmetic)."""
DEFAULT_BLOCK = {"seq-read": MiB, "seq-write": MiB, "rand-read": 4 * KiB, "rand-write": 4 * KiB}

Progress = Callable[[str, float], None]
"""progress(what is happening, fraction of the whole call done): how the library reports progress."""


def sub_progress(progress: Progress | None, lo: float, hi: float, prefix: str = "") -> Progress | None:
    """A Progress for one part of a larger call, mapping its [0, 1] onto [lo, hi] of ``progress``."""
    if progress is None:
        return None
    return lambda what, frac: progress(f"{prefix}{what}", lo + (hi - lo) * min(max(frac, 0.0), 1.0))


@dataclass(frozen=True)
class IoJob:
    """One I/O job: ``jobs`` threads (one file each) keeping ``iodepth`` I/Os of ``block`` bytes in flight
    until ``size`` bytes (all jobs together) have moved, or ``runtime`` seconds have passed."""

    pattern: str = "seq-read"
    """seq-read, seq-write, rand-read or rand-write; random patterns touch every block once."""
    size: int = 4 * GiB
    block: int | None = None
    """Bytes per I/O; None: 1 MiB for sequential patterns, 4 KiB for random ones."""
    jobs: int = 4
    iodepth: int = 16
    direct: bool = True
    """O_DIRECT (bypassing the page cache) where the file system allows it."""
    runtime: float = 0.0
    """Stop after this many seconds (0: when all bytes have moved)."""
    file_bytes: int = field(init=False, default=0)
    """Bytes of each job's file: size / jobs in whole blocks."""

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise InputError(f"expected one of {', '.join(PATTERNS)}, got {self.pattern!r}", field="pattern")
        if not 0 <= self.runtime <= MAX_RUNTIME:  # NaN fails too; the core holds it as a duration
            raise InputError(f"must be 0..{MAX_RUNTIME:g} seconds, got {self.runtime}", field="runtime")
        if self.block is None:
            object.__setattr__(self, "block", DEFAULT_BLOCK[self.pattern])
        file_bytes = _core.check_io(self.size, self.block, self.jobs, self.iodepth, self.direct, self.runtime)
        object.__setattr__(self, "file_bytes", file_bytes)

    @property
    def block_bytes(self) -> int:
        """``block`` once set (``__post_init__`` fills in the pattern's default)."""
        assert self.block is not None
        return self.block

    @property
    def write(self) -> bool:
        return self.pattern.endswith("write")

    @property
    def random(self) -> bool:
        return self.pattern.startswith("rand")


def summarize_latency(samples_s: np.ndarray) -> Latency:
    """p50, p99 and mean of per-operation seconds, through the timing protocol's percentiles."""
    xs = np.sort(np.asarray(samples_s, dtype=np.float64)).tolist()
    if not xs:
        return Latency(None, None, 0.0, 0)
    t = Timing(tuple(xs))
    return Latency(
        p50_us=t.median * 1e6, p99_us=percentile(xs, 99) * 1e6, mean_us=t.mean * 1e6, samples=len(xs)
    )


def resolve_engine(engine: str) -> tuple[str, str | None]:
    """(builtin or fio, a note on the choice) for ``auto``, ``builtin`` or ``fio``."""
    if engine not in ENGINES:
        raise InputError(f"expected one of {', '.join(ENGINES)}, got {engine!r}", field="engine")
    have_fio = fio_version() is not None
    if engine == "fio" and not have_fio:
        raise InputError(
            "fio is not installed", field="engine", hint="apt-get install fio, or --engine builtin"
        )
    if engine == "auto":
        return ("fio", None) if have_fio else ("builtin", "fio is not installed: the built-in engine ran")
    return engine, None


def measure_io(
    path: str | Path,
    job: IoJob | None = None,
    *,
    engine: str = "auto",
    seed: int = 0,
    progress: Progress | None = None,
) -> IoReport:
    """Run ``job`` under ``path`` (in a directory of its own, removed afterwards, also on Ctrl-C).

    ``engine``: ``fio`` (Debian's fio, its JSON report parsed), ``builtin`` (the core's libaio engine) or
    ``auto`` (fio when installed). The share is of the published per-client figure: this host is one
    client. Example: ``measure_io("/mnt/3fs", IoJob(pattern="rand-read", size=1 << 30))``.
    """
    job = job or IoJob()
    which, note = resolve_engine(engine)
    notes = [note] if note else []
    with scratch_dir(
        path,
        need_bytes=job.file_bytes * job.jobs,
        what=f"{job.pattern} of {format_size(job.file_bytes * job.jobs)}",
    ) as run:
        direct = job.direct
        if direct and not _core.direct_supported(str(run)):
            direct = False
            notes.append(
                "this file system refuses O_DIRECT: buffered I/O ran (page cache dropped before reads)"
            )
        if which == "fio":
            if progress:
                progress(f"{job.pattern} (fio)", 0.0)
            r = run_fio(
                run,
                pattern=job.pattern,
                file_bytes=job.file_bytes,
                block=job.block_bytes,
                jobs=job.jobs,
                iodepth=job.iodepth,
                direct=direct,
                runtime=job.runtime,
            )
            gib_s, iops = r.bytes_per_s / GiB, r.iops
            latency = Latency(r.p50_us, r.p99_us, r.mean_us, None)
            moved, ops, seconds, version = r.bytes, r.ops, r.seconds, r.version
        else:
            raw = _core.run_io(
                str(run),
                job.size,
                job.block_bytes,
                job.jobs,
                job.iodepth,
                direct,
                job.runtime,
                job.write,
                job.random,
                seed,
                _core_progress(progress, job.pattern, job.write),
            )
            moved, ops, seconds = raw.bytes, raw.ops, raw.seconds
            gib_s, iops = moved / seconds / GiB, ops / seconds
            latency = summarize_latency(raw.latency_s)
            version = f"fireflyer {__version__} (libaio)"
    if progress:
        progress(job.pattern, 1.0)
    reference = io_reference(job.pattern)
    return IoReport(
        path=str(Path(path)),
        host=host.hostname(),
        engine=which,
        engine_version=version,
        pattern=job.pattern,
        size=job.size,
        block=job.block_bytes,
        jobs=job.jobs,
        iodepth=job.iodepth,
        runtime_limit_s=job.runtime,
        direct=direct,
        bytes=moved,
        ops=ops,
        seconds=seconds,
        gib_s=gib_s,
        iops=iops,
        latency=latency,
        published=None if reference is None else reference.report(),
        share=None if reference is None else reference.share(gib_s),
        notes=notes,
    )


def _core_progress(progress: Progress | None, pattern: str, write: bool):
    """The core's progress(stage, done, total) as a Progress: reads spend half on laying out files."""
    if progress is None:
        return None

    def report(stage: str, done: int, total: int) -> None:
        frac = done / total if total else 0.0
        if write:
            progress(pattern, frac)
        elif stage == "layout":
            progress(f"{pattern}: laying out files", 0.5 * frac)
        else:
            progress(pattern, 0.5 + 0.5 * frac)

    return report
