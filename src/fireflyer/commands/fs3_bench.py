"""`flyer fs3 bench`: is the file system as fast as it should be? Raw I/O, metadata operations and a
Smallpond GraySort under a path, against 3FS's published figures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import CheckFailed
from ..fs3 import bench as lib
from ..fs3.bench import reports
from ..gates import write_junit
from ..io import check_outputs
from ._options import (
    INT64,
    ClientsOpt,
    ClientsRayOpt,
    JsonOpt,
    JunitOpt,
    OutOpt,
    PlotOpt,
    StorageNodesOpt,
    integer_in,
    number,
    size,
)
from ._output import Output
from .fs3_bench_options import (
    KV_BLOCK,
    MAX_IODEPTH,
    MAX_JOBS,
    MAX_RUNTIME_S,
    ClusterThresholdsOpt,
    DirectOpt,
    DirsOpt,
    Engine,
    EngineOpt,
    FilesOpt,
    IodepthOpt,
    JobsOpt,
    KvcacheSecondsOpt,
    NoSortOpt,
    PartitionsOpt,
    PathArg,
    Pattern,
    RayAddressOpt,
    RayTimeoutOpt,
    SuiteRayOpt,
    ThresholdOpt,
)
from .views import fs3_bench as view
from .views import fs3_plot, plotting

RESULTS: dict[str, Any] = {
    "bench io": reports.IoReport | reports.IoClientsReport,
    "bench meta": reports.MetaReport | reports.MetaClientsReport,
    "bench kvcache": reports.KvReport | reports.KvClientsReport,
    "bench sort": reports.SortReport,
    "bench all": reports.SuiteReport,
}
"""Each command (as typed after ``flyer fs3``) -> the record its ``--json`` encodes (``scope``: ``host`` on
this host, ``clients`` on every client node of a Ray cluster)."""


app = typer.Typer(
    help="Raw I/O, metadata and a Smallpond GraySort under a path, against 3FS's published figures.",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _running(out: Output, description: str) -> Iterator[Callable[[str, float], None]]:
    """Around a library call: its progress(what, fraction) as a bar on a terminal (nothing elsewhere), and
    SIGINT, SIGTERM and SIGHUP as Interrupted: what the run wrote and started is removed, then the command
    exits 128 + the signal's number (130, 143, 129)."""
    steps = 1000
    with _exit_on_signal(), out.progress(description, total=steps) as advance:
        done = [0]

        def report(what: str, fraction: float) -> None:
            pos = min(int(fraction * steps), steps)
            advance(max(pos - done[0], 0), description=what)
            done[0] = max(done[0], pos)

        yield report


@contextlib.contextmanager
def _exit_on_signal() -> Iterator[None]:
    with lib.signals_as_interrupts():
        try:
            yield
        except KeyboardInterrupt as e:
            why = lib.as_interrupted(e)
            typer.echo(f"flyer: interrupted ({why.name}); what the run wrote is removed", err=True)
            raise typer.Exit(why.exit_code) from None


def _finish(
    out: Output, report: Any, render: Callable[[Output], None], out_file: Path | None, plot: Path | None
) -> None:
    out.save(report, out_file)
    out.emit(report, render)
    plotting.write(out, plot, fs3_plot.plot_bench, report)


@app.command()
def io(
    path: PathArg,
    pattern: Annotated[
        Pattern, typer.Option("--pattern", help="Access pattern (random ones touch each block once).")
    ] = Pattern.seq_read,
    size_: Annotated[
        int,
        typer.Option("--size", parser=size, metavar="SIZE", help="Bytes over all jobs (4GiB, 512MiB, ...)."),
    ] = "4GiB",  # type: ignore[assignment]
    block: Annotated[
        int | None,
        typer.Option(
            "--block",
            parser=size,
            metavar="SIZE",
            help="Bytes per I/O (default 1MiB sequential, 4KiB random).",
        ),
    ] = None,
    jobs: JobsOpt = 4,
    iodepth: IodepthOpt = 16,
    direct: DirectOpt = True,
    engine: EngineOpt = Engine.auto,
    runtime: Annotated[
        float,
        typer.Option(
            "--runtime",
            parser=number(low=0, high=MAX_RUNTIME_S),
            metavar="SECONDS",
            help="Stop after this long (0: after --size).",
        ),
    ] = 0.0,
    ray_address: ClientsRayOpt = None,
    clients: ClientsOpt = None,
    storage_nodes: StorageNodesOpt = None,
    ray_timeout: RayTimeoutOpt = 30.0,
    json: JsonOpt = False,
    out_file: OutOpt = None,
    plot: PlotOpt = None,
) -> None:
    """Parallel reads or writes under PATH: GiB/s, IOPS, p50/p99 latency, share of the published figure.

    One file per job, created and removed by the tool; random patterns touch every block once.

    fio runs the job when it is installed (its JSON report read back), the core's libaio engine otherwise.

    Examples:
      flyer fs3 bench io /mnt/3fs
      flyer fs3 bench io /mnt/3fs --pattern rand-read --size 8GiB --jobs 16 --iodepth 32
      flyer fs3 bench io /mnt/3fs --pattern seq-write --engine builtin --buffered --json
      flyer fs3 bench io /data --runtime 30 --out io.json --plot io.png
      flyer fs3 bench io /mnt/3fs --size 64GiB --ray-address 10.0.0.1:6379 --clients all --storage-nodes 180
    """
    out = Output(json)
    check_outputs([out_file])
    plotting.check_plot(plot, [], [out_file])
    job = lib.IoJob(
        pattern=pattern.value,
        size=size_,
        block=block,
        jobs=jobs,
        iodepth=iodepth,
        direct=direct,
        runtime=runtime,
    )
    on = lib.BenchHosts.from_options(ray_address, clients, storage_nodes, ray_timeout)
    with _running(out, pattern.value) as progress:
        r = lib.bench_io(path, job, engine=engine.value, on=on, progress=progress)
    _finish(out, r, lambda o: view.io_result(o, r), out_file, plot)


@app.command()
def meta(
    path: PathArg,
    files: FilesOpt = 20_000,
    dirs: DirsOpt = 100,
    jobs: JobsOpt = 8,
    file_size: Annotated[
        int,
        typer.Option(
            "--file-size", parser=size, metavar="SIZE", help="Bytes written into each file (mdtest -w)."
        ),
    ] = "0",  # type: ignore[assignment]
    ray_address: ClientsRayOpt = None,
    clients: ClientsOpt = None,
    ray_timeout: RayTimeoutOpt = 30.0,
    json: JsonOpt = False,
    out_file: OutOpt = None,
    plot: PlotOpt = None,
) -> None:
    """Metadata operations per second under PATH: create, stat, rename, delete (mdtest's pattern).

    Many small files spread over many directories, on several threads; each phase timed on its own.

    Examples:
      flyer fs3 bench meta /mnt/3fs
      flyer fs3 bench meta /mnt/3fs --files 200000 --dirs 1000 --jobs 32
      flyer fs3 bench meta /mnt/3fs --file-size 4KiB --json
      flyer fs3 bench meta /mnt/3fs --ray-address 10.0.0.1:6379 --clients 8
    """
    out = Output(json)
    check_outputs([out_file])
    plotting.check_plot(plot, [], [out_file])
    job = lib.MetaJob(files=files, dirs=dirs, jobs=jobs, file_bytes=file_size)
    on = lib.BenchHosts.from_options(ray_address, clients, ray_timeout=ray_timeout)
    with _running(out, "metadata") as progress:
        r = lib.bench_meta(path, job, on=on, progress=progress)
    _finish(out, r, lambda o: view.meta_result(o, r), out_file, plot)


@app.command()
def kvcache(
    path: PathArg,
    block_size: Annotated[
        int,
        typer.Option(
            "--block-size",
            parser=size,
            metavar="SIZE",
            help="Bytes per read, a multiple of 4KiB (default: one 64-token page of DeepSeek-V3's MLA cache, "
            "all 61 layers, bf16: 4,497,408).",
        ),
    ] = str(KV_BLOCK),  # type: ignore[assignment]
    files: Annotated[
        int,
        typer.Option("--files", parser=integer_in(1, 4096), metavar="N", help="Files the reads spread over."),
    ] = 8,
    file_size: Annotated[
        int, typer.Option("--file-size", parser=size, metavar="SIZE", help="Bytes of each file.")
    ] = "1GiB",  # type: ignore[assignment]
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            parser=integer_in(1, MAX_JOBS * MAX_IODEPTH),
            metavar="N",
            help="Reads in flight on each client (a multiple of --jobs).",
        ),
    ] = 64,
    jobs: JobsOpt = 8,
    seconds: Annotated[
        float,
        typer.Option(
            "--seconds",
            parser=number(low=0, high=MAX_RUNTIME_S, low_open=True),
            metavar="SECONDS",
            help="How long the reads run.",
        ),
    ] = 10.0,
    direct: DirectOpt = True,
    ray_address: ClientsRayOpt = None,
    clients: ClientsOpt = None,
    ray_timeout: RayTimeoutOpt = 30.0,
    json: JsonOpt = False,
    out_file: OutOpt = None,
    plot: PlotOpt = None,
) -> None:
    """The KVCache pattern under PATH: many concurrent random reads of KV blocks from large files.

    fio reads --block-size chunks at random block-aligned offsets of --files files (laid out first),
    --concurrency at a time, for --seconds; beside 3FS's published 40 GiB/s peak per client node.

    Examples:
      flyer fs3 bench kvcache /mnt/3fs
      flyer fs3 bench kvcache /mnt/3fs --files 32 --file-size 8GiB --concurrency 256 --jobs 16
      flyer fs3 bench kvcache /mnt/3fs --ray-address 10.0.0.1:6379 --clients all --json
    """
    out = Output(json)
    check_outputs([out_file])
    plotting.check_plot(plot, [], [out_file])
    job = lib.KvJob(
        block=block_size,
        files=files,
        file_size=file_size,
        concurrency=concurrency,
        jobs=jobs,
        seconds=seconds,
        direct=direct,
    )
    on = lib.BenchHosts.from_options(ray_address, clients, ray_timeout=ray_timeout)
    with _running(out, "kvcache") as progress:
        r = lib.bench_kvcache(path, job, on=on, progress=progress)
    _finish(out, r, lambda o: view.kvcache_result(o, r), out_file, plot)


@app.command()
def sort(
    path: PathArg,
    size_: Annotated[
        int,
        typer.Option(
            "--size", parser=size, metavar="SIZE", help="Bytes of 100-byte records to sort (1GiB, 1TiB)."
        ),
    ] = "1GiB",  # type: ignore[assignment]
    partitions: PartitionsOpt = None,
    ray_address: RayAddressOpt = None,
    ray_timeout: RayTimeoutOpt = 30.0,
    seed: Annotated[
        int,
        typer.Option("--seed", parser=integer_in(0, INT64 - 1), metavar="N", help="Seed of the records."),
    ] = 0,
    json: JsonOpt = False,
    out_file: OutOpt = None,
    plot: PlotOpt = None,
) -> None:
    """A GraySort with Smallpond under PATH: the sort rate beside the published 3.66 TiB/min.

    100-byte records (10-byte keys) are generated as Parquet, shuffled by key prefix, sorted and written.

    The output is checked: every record once, keys in order within and across partitions (exit 1 if not).

    Needs the bench extra: pip install "fireflyer\\[bench]".

    Examples:
      flyer fs3 bench sort /mnt/3fs
      flyer fs3 bench sort /mnt/3fs --size 100GiB --partitions 64 --ray-address 10.0.0.1:6379
      flyer fs3 bench sort /tmp --size 256MiB --json
    """
    out = Output(json)
    check_outputs([out_file])
    plotting.check_plot(plot, [], [out_file])
    job = lib.SortJob(size=size_, partitions=partitions, seed=seed)
    on = lib.BenchHosts.from_options(ray_address, ray_timeout=ray_timeout)
    with _running(out, "sort") as progress:
        result = lib.measure_sort(path, job, on=on, progress=progress)
    r = result.report()
    _finish(out, r, lambda o: view.sort_result(o, r), out_file, plot)
    if not r.validation.ok:
        raise CheckFailed(f"the sorted output failed its check: {'; '.join(r.validation.problems)}")


@app.command(name="all")
def all_(
    path: PathArg,
    cluster: ClusterThresholdsOpt = None,
    threshold: ThresholdOpt = None,
    size_: Annotated[
        int, typer.Option("--size", parser=size, metavar="SIZE", help="Bytes of each I/O job, over all jobs.")
    ] = "4GiB",  # type: ignore[assignment]
    jobs: JobsOpt = 4,
    iodepth: IodepthOpt = 16,
    direct: DirectOpt = True,
    engine: EngineOpt = Engine.auto,
    files: FilesOpt = 20_000,
    dirs: DirsOpt = 100,
    kvcache: KvcacheSecondsOpt = None,
    sort_size: Annotated[
        int, typer.Option("--sort-size", parser=size, metavar="SIZE", help="Bytes of records to sort.")
    ] = "1GiB",  # type: ignore[assignment]
    partitions: PartitionsOpt = None,
    no_sort: NoSortOpt = False,
    ray_address: SuiteRayOpt = None,
    clients: ClientsOpt = None,
    storage_nodes: StorageNodesOpt = None,
    ray_timeout: RayTimeoutOpt = 30.0,
    json: JsonOpt = False,
    out_file: OutOpt = None,
    plot: PlotOpt = None,
    junit: JunitOpt = None,
) -> None:
    """io, meta (kvcache) and sort in order, pass/warn/fail per figure against thresholds: a post-deploy gate.

    io runs seq-write, seq-read, rand-read and rand-write. Exit 1 when a figure misses its threshold.

    Thresholds: the bench: section of --cluster, and --threshold NAME=VALUE (which wins).

    Minimums such as seq_read_gib_s, rand_read_iops, meta_create_ops_s, sort_gib_s; maximums: *_p99_ms.

    min_share: of the published figure, where one exists. Within warn_margin (0.1) of a limit: warn.

    With --ray-address, io, meta and kvcache run on all client nodes at once; thresholds judge the aggregate.

    Examples:
      flyer fs3 bench all /mnt/3fs --cluster cluster.yaml
      flyer fs3 bench all /data --size 1GiB --no-sort --json --out bench.json --plot bench.svg
      flyer fs3 bench all /mnt/3fs --cluster cluster.yaml --ray-address 10.0.0.1:6379 --storage-nodes 180
      flyer fs3 bench all /mnt/3fs --cluster cluster.yaml --kvcache 30 --junit fs3-bench.xml
    """
    out = Output(json)
    check_outputs([out_file, junit], [cluster])
    plotting.check_plot(plot, [cluster], [out_file, junit])
    thresholds = lib.thresholds_from(cluster, threshold or [])
    job = lib.SuiteJob(
        io_size=size_,
        jobs=jobs,
        iodepth=iodepth,
        direct=direct,
        engine=engine.value,
        meta=lib.MetaJob(files=files, dirs=dirs),
        sort=None if no_sort else lib.SortJob(size=sort_size, partitions=partitions),
        kvcache_seconds=kvcache,
        on=lib.BenchHosts.from_options(ray_address, clients, storage_nodes, ray_timeout),
    )
    with _running(out, "all") as progress:
        result = lib.measure_all(path, job, thresholds=thresholds, progress=progress)
    r = result.report()
    _finish(out, r, lambda o: view.suite_result(o, r), out_file, plot)
    write_junit(junit, "flyer fs3 bench all", result.checks())
    if result.failed:
        raise CheckFailed(result.failure())
