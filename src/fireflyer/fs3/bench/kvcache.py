"""The KVCache pattern: an inference server looking up prefix caches on 3FS reads many KV blocks at once,
each at a random block-aligned place in large files. fio runs it (``rw=randread``, ``bs`` = the KV block,
every job choosing a file at random for each read, ``numjobs`` x ``iodepth`` reads in flight, for a fixed
time), and the throughput is set beside DeepSeek's 40 GiB/s peak per client node.

The default block is one page of DeepSeek-V3's MLA cache as SGLang's HiCache stores it on 3FS (page-first
layout: every layer of a page together): 64 tokens (FlashMLA's page and HiCache's recommended
``--page-size``) x 61 layers x 576 values per token and layer (the 512-wide latent and the 64 rotary
dimensions) x 2 bytes (bf16) = 4,497,408 bytes, a multiple of 4 KiB (O_DIRECT reads it as it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import host
from ..._core.fs3 import bench as _core
from ...errors import InputError
from ...host import GiB, KiB
from ...io import format_size
from .fio import fio_version, run_fio_argv
from .published import kvcache_reference
from .reports import KvReport, Latency
from .scratch import scratch_dir
from .workloads import MAX_RUNTIME, Progress

PAGE_TOKENS = 64
LAYERS = 61
VALUES_PER_TOKEN = 512 + 64
VALUE_BYTES = 2
KV_BLOCK = PAGE_TOKENS * LAYERS * VALUES_PER_TOKEN * VALUE_BYTES
"""4,497,408 bytes: one 64-token page of DeepSeek-V3's MLA cache, every layer, bf16."""
MAX_FILES = 4096
MAX_CONCURRENCY = 4096 * 1024
ALIGN = 4 * KiB


@dataclass(frozen=True)
class KvJob:
    """``files`` files of ``file_size`` bytes, read at random ``block``-aligned offsets, ``block`` bytes at a
    time, ``concurrency`` reads in flight (``jobs`` threads of ``concurrency / jobs`` each), for ``seconds``.

    3FS states the client side of its KVCache figure (one 400 Gbps NIC per node, peak 40 GiB/s) but not
    the block, the files or the concurrency: the defaults here are a documented choice (the block: one MLA
    page, see the module; 64 reads in flight, 8 files of 1 GiB per client)."""

    block: int = KV_BLOCK
    files: int = 8
    file_size: int = GiB
    concurrency: int = 64
    jobs: int = 8
    seconds: float = 10.0
    direct: bool = True

    def __post_init__(self) -> None:
        if self.block <= 0 or self.block % ALIGN:
            raise InputError(f"must be a positive multiple of 4 KiB, got {self.block}", field="block_size")
        if not 1 <= self.files <= MAX_FILES:
            raise InputError(f"must be 1..{MAX_FILES}, got {self.files}", field="files")
        if self.file_size < self.block:
            raise InputError(
                f"must hold one block ({format_size(self.block)}) or more, got {format_size(self.file_size)}",
                field="file_size",
            )
        if not 1 <= self.jobs <= min(self.concurrency, 4096):
            raise InputError(f"must be 1..min(concurrency, 4096), got {self.jobs}", field="jobs")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY or self.concurrency % self.jobs:
            raise InputError(
                f"must be a multiple of the jobs ({self.jobs}), at most {MAX_CONCURRENCY}, got "
                f"{self.concurrency}",
                field="concurrency",
            )
        if not 0 < self.seconds <= MAX_RUNTIME:  # NaN fails too
            raise InputError(f"must be in (0, {MAX_RUNTIME:g}] seconds, got {self.seconds}", field="seconds")

    @property
    def iodepth(self) -> int:
        return self.concurrency // self.jobs

    @property
    def total_bytes(self) -> int:
        return self.files * self.file_size


def kvcache_args(directory: str | Path, job: KvJob, *, direct: bool) -> list[str]:
    """fio's command line for ``job``: the files named ``kv.N`` (laid out by fio before the timed phase),
    shared by every job, one chosen at random for each read."""
    names = ":".join(f"kv.{i}" for i in range(job.files))
    return [
        "fio",
        "--output-format=json",
        "--eta=never",
        "--name=kvcache",
        f"--directory={directory}",
        f"--filename={names}",
        "--file_service_type=random",
        "--rw=randread",
        f"--bs={job.block}",
        f"--filesize={job.file_size}",
        f"--numjobs={job.jobs}",
        f"--iodepth={job.iodepth}",
        "--ioengine=libaio",
        f"--direct={int(direct)}",
        "--time_based=1",
        f"--runtime={max(1, round(job.seconds * 1000))}ms",
        "--group_reporting=1",
        "--lat_percentiles=1",
        "--percentile_list=50:99",
        "--invalidate=1",
    ]


def measure_kvcache(
    path: str | Path, job: KvJob | None = None, *, progress: Progress | None = None
) -> KvReport:
    """Random KV-block reads from large files under ``path`` (in a directory of its own, removed afterwards,
    also on Ctrl-C), through fio; beside the published 40 GiB/s per client node (this host being one).

    Example: ``measure_kvcache("/mnt/3fs", KvJob(files=16, file_size=4 << 30, concurrency=128))``.
    """
    job = job or KvJob()
    if fio_version() is None:
        raise InputError("fio is not installed", hint="apt-get install fio (kvcache runs through fio)")
    notes = []
    what = f"kvcache files of {format_size(job.total_bytes)}"
    with scratch_dir(path, need_bytes=job.total_bytes, what=what) as run:
        direct = job.direct and _core.direct_supported(str(run))
        if job.direct and not direct:
            notes.append("this file system refuses O_DIRECT: buffered reads ran (page cache dropped first)")
        if progress:
            progress("kvcache (fio: laying out files, then reading)", 0.0)
        r = run_fio_argv(kvcache_args(run, job, direct=direct), run, pattern="rand-read")
    if progress:
        progress("kvcache", 1.0)
    reference = kvcache_reference(nodes=1)
    gib_s = r.bytes_per_s / GiB
    return KvReport(
        path=str(Path(path)),
        host=host.hostname(),
        engine_version=r.version,
        block=job.block,
        files=job.files,
        file_size=job.file_size,
        concurrency=job.concurrency,
        jobs=job.jobs,
        seconds_limit=job.seconds,
        direct=direct,
        bytes=r.bytes,
        ops=r.ops,
        seconds=r.seconds,
        gib_s=gib_s,
        iops=r.iops,
        latency=Latency(r.p50_us, r.p99_us, r.mean_us, None),
        published=reference.report(),
        share=reference.share(gib_s),
        notes=notes,
    )
