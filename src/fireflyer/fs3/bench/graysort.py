"""A GraySort-style job with Smallpond under a path, as DeepSeek ran it on 3FS: generate 100-byte records as
Parquet, shuffle them into partitions by the key's prefix, sort each partition, write it, and check the
output (every record present once, keys in order within and across partitions). The sort rate is set
beside the published 3.66 TiB/min, per compute node.

Smallpond runs on a local Ray started for the run, or on an existing Ray cluster (``BenchHosts.address``);
then every node must see ``path`` at the same place (a shared mount such as 3FS) and have
``fireflyer[bench]`` installed, since the record generator runs in Smallpond's tasks.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ... import host
from ...errors import CheckFailed, FireflyerError, InputError
from ...host import GiB
from ...io import format_size
from ...timing import Recorder
from . import records
from .clients import BenchHosts
from .published import Reference, sort_reference
from .raycluster import last_line, ray_session, redirected
from .reports import SortReport, Validation
from .scratch import scratch_dir, signals_deferred
from .sortcheck import validate_output
from .workloads import Progress

MAX_PARTITIONS = 65536
RANGE_RECORDS = 1 << 20
"""Records generated per Smallpond generator call (100 MiB)."""
PARTITION_BYTES = 256 << 20
"""Default partition size: about 256 MiB of records each, and at least one partition per CPU."""
INSTALL_HINT = 'pip install "fireflyer[bench]" (Smallpond 0.15, Ray, DuckDB 1.2)'


@dataclass(frozen=True)
class SortJob:
    size: int = GiB
    """Bytes of records (100 bytes each) to generate and sort."""
    partitions: int | None = None
    """None: one per 256 MiB, and at least one per CPU of the Ray cluster."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise InputError(f"must be at least 0, got {self.seed}", field="seed")
        if self.size < records.RECORD_BYTES:
            raise InputError(
                f"must be at least one {records.RECORD_BYTES}-byte record, got {self.size}", field="size"
            )
        if self.partitions is not None and not 1 <= self.partitions <= min(MAX_PARTITIONS, self.records):
            raise InputError(
                f"must be between 1 and {min(MAX_PARTITIONS, self.records)} (and no more than the records), "
                f"got {self.partitions}",
                field="partitions",
            )

    @property
    def records(self) -> int:
        return self.size // records.RECORD_BYTES


@dataclass(frozen=True)
class SortResult:
    path: str
    job: SortJob
    partitions: int
    nodes: int
    cpus: int
    ray_address: str
    """``local`` for a Ray started for the run, else the cluster's address."""
    seconds: dict[str, float]
    """Wall time of each phase: ray_start, smallpond_start, generate, sort, shutdown (Smallpond and Ray),
    validate, cleanup (removing the files), and total (all of them and the checks before)."""
    validation: Validation
    versions: dict[str, str]
    reference: Reference = field(default_factory=sort_reference)

    @property
    def bytes(self) -> int:
        return self.job.records * records.RECORD_BYTES

    @property
    def gib_s(self) -> float:
        """Sorted bytes per second of the sort (shuffle, sort, write; generation and checks apart)."""
        return self.bytes / self.seconds["sort"] / GiB

    @property
    def tib_per_min(self) -> float:
        return self.gib_s * 60 / 1024

    @property
    def share(self) -> float:
        return self.reference.share(self.gib_s)

    def report(self) -> SortReport:
        return SortReport(
            path=self.path,
            host=host.hostname(),
            size=self.job.size,
            records=self.job.records,
            bytes=self.bytes,
            partitions=self.partitions,
            seed=self.job.seed,
            nodes=self.nodes,
            cpus=self.cpus,
            ray_address=self.ray_address,
            seconds=self.seconds,
            gib_s=self.gib_s,
            tib_per_min=self.tib_per_min,
            published=self.reference.report(),
            share=self.share,
            validation=self.validation,
            versions=self.versions,
        )


# ---- Running the job -----------------------------------------------------------------------------------


def require_engines():
    """(smallpond, ray), or InputError saying how to install them."""
    try:
        import ray
        import smallpond
    except ImportError as e:
        raise InputError(
            f"the sort needs Smallpond and Ray, which are not installed ({e.name} is missing)",
            hint=INSTALL_HINT,
        ) from None
    return smallpond, ray


@contextlib.contextmanager
def _smallpond_logs(log: Path) -> Iterator[None]:
    """Smallpond logs to stdout (loguru): stdout goes to ``log`` while it runs, and its sinks are removed
    after, so stdout keeps nothing but the command's result."""
    from loguru import logger

    with redirected(1, log):
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                # NOTE: Smallpond's sinks write from a queue; drain it before stdout comes back.
                logger.complete()
                logger.remove()


def _parquet_files(directory: Path) -> list[str]:
    return sorted(str(p) for p in directory.glob("*.parquet"))


def measure_sort(
    path: str | Path,
    job: SortJob | None = None,
    *,
    on: BenchHosts | None = None,
    progress: Progress | None = None,
) -> SortResult:
    """Generate, sort and check ``job.size`` bytes of GraySort records under ``path`` with Smallpond, in a
    directory of its own that is removed afterwards (also on Ctrl-C); on a Ray started for the run, or on
    every node of the cluster at ``on.address`` (its ``clients`` and ``storage_nodes`` play no part).

    Example: ``measure_sort("/mnt/3fs", SortJob(size=100 << 30), on=BenchHosts(address="10.0.0.1:6379"))``.
    """
    job, on = job or SortJob(), on or BenchHosts()
    smallpond, ray = require_engines()
    import duckdb

    data_bytes = job.records * records.RECORD_BYTES
    # NOTE: input, shuffled copy and sorted output are on disk together (Parquet adds little to random bytes).
    need = int(3.2 * data_bytes)
    rec = Recorder("cpu", warmup=0)

    def step(name: str, frac: float) -> None:
        if progress:
            progress(name, frac)

    with rec.section("total"), contextlib.ExitStack() as outer:
        run = outer.enter_context(
            scratch_dir(path, need_bytes=need, what=f"the sort of {format_size(data_bytes)}")
        )
        with contextlib.ExitStack() as inner:
            step("sort: starting Ray", 0.0)
            with rec.section("ray_start"):
                cluster = inner.enter_context(ray_session(ray, on, run))
            partitions = job.partitions or min(
                max(cluster.cpus, math.ceil(data_bytes / PARTITION_BYTES)), MAX_PARTITIONS, job.records
            )
            spans = records.ranges(job.records, RANGE_RECORDS)
            inner.enter_context(_smallpond_logs(run / "smallpond.log"))
            with rec.section("smallpond_start"):
                sp = smallpond.init(
                    job_name="flyer-fs3-bench-sort",
                    data_root=str(run / "smallpond"),
                    ray_address=cluster.address,
                    memory_allocator="system",
                )
            try:
                plain = {"parquet_compression": None, "parquet_compression_level": None}
                step("sort: generating records", 0.05)
                with rec.section("generate"):
                    generate = functools.partial(
                        records.generate_ranges, seed=job.seed, partitions=partitions
                    )
                    sp.from_arrow(spans).repartition(min(len(spans), cluster.cpus), by_rows=True).map_batches(
                        generate, batch_size=1, **plain
                    ).write_parquet(str(run / "input"))
                step("sort: shuffling and sorting", 0.3)
                with rec.section("sort"):
                    sp.read_parquet(str(run / "input" / "*.parquet")).repartition(
                        partitions, by="partition", **plain
                    ).partial_sort(by="key", per_thread_output=False, **plain).write_parquet(
                        str(run / "output")
                    )
            except Exception as e:
                if isinstance(e, FireflyerError):
                    raise
                raise CheckFailed(f"the Smallpond job failed: {last_line(e)}") from e
            finally:
                with rec.section("shutdown"), signals_deferred():
                    with cluster.quiet():
                        sp.shutdown()
                    inner.close()  # Ray's session: disconnected (its fd 2 to the log meanwhile), head stopped
        with rec.section("validate"):
            validation = validate_output(
                _parquet_files(run / "output"),
                _parquet_files(run / "input"),
                expected_records=job.records,
                progress=None if progress is None else lambda what, f: step(f"sort: {what}", 0.8 + 0.2 * f),
            )
        with rec.section("cleanup"):
            outer.close()
    seconds = {name: t.median for name, t in rec.timings().items()}
    return SortResult(
        path=str(Path(path)),
        job=job,
        partitions=partitions,
        nodes=cluster.nodes,
        cpus=cluster.cpus,
        ray_address="local" if on.address is None else on.address,
        seconds=seconds,
        validation=validation,
        versions={"smallpond": smallpond.__version__, "ray": ray.__version__, "duckdb": duckdb.__version__},
        reference=sort_reference(nodes=cluster.nodes),
    )
