"""The options of `flyer fs3 bench` (those only its commands take; the shared ones are in _options.py), so
the command module holds the commands alone."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from ._options import integer_in, number

# NOTE: the core's own limits (csrc/fs3/bench), refused here at parsing: jobs 4096, queue depth 1024, files
# 2^32; partitions as the sort allows; a week of runtime, an hour for Ray to answer.
MAX_JOBS, MAX_IODEPTH, MAX_FILES, MAX_PARTITIONS = 4096, 1024, 2**32, 65536
MAX_RUNTIME_S, MAX_RAY_TIMEOUT_S = 7 * 86400.0, 3600.0
KV_BLOCK = 64 * 61 * 576 * 2  # fs3.bench.KV_BLOCK (a 64-token MLA page, 61 layers, bf16), without the library


class Pattern(str, enum.Enum):
    """fs3.bench.PATTERNS, here without importing the library."""

    seq_read = "seq-read"
    seq_write = "seq-write"
    rand_read = "rand-read"
    rand_write = "rand-write"


class Engine(str, enum.Enum):
    """fs3.bench.ENGINES, here without importing the library."""

    auto = "auto"
    builtin = "builtin"
    fio = "fio"


PathArg = Annotated[
    str,  # NOTE: not Path, which reads an empty argument (an unset $VAR) as the current directory
    typer.Argument(
        metavar="PATH",
        help="A directory on the file system to test (e.g. a 3FS mount). The tool writes only in a directory "
        "of its own under it, and removes it afterwards (also on Ctrl-C).",
        show_default=False,
    ),
]
JobsOpt = Annotated[
    int, typer.Option("--jobs", parser=integer_in(1, MAX_JOBS), metavar="N", help="Parallel jobs (threads).")
]
IodepthOpt = Annotated[
    int,
    typer.Option(
        "--iodepth",
        parser=integer_in(1, MAX_IODEPTH),
        metavar="N",
        help="I/Os in flight per job (queue depth).",
    ),
]
DirectOpt = Annotated[
    bool,
    typer.Option(
        "--direct/--buffered",
        help="O_DIRECT (bypass the page cache) where the file system allows it; the result says when not.",
    ),
]
EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="auto (fio when installed, else the built-in engine), fio, or builtin (the core's libaio "
        "engine).",
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="An existing Ray cluster (HOST:PORT or ray://HOST:PORT); every node must see PATH. "
        "Default: a local Ray started for the run.",
    ),
]
RayTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--ray-timeout",
        parser=number(low=0, high=MAX_RAY_TIMEOUT_S, low_open=True),
        metavar="SECONDS",
        help="How long --ray-address may take to answer.",
    ),
]
PartitionsOpt = Annotated[
    int | None,
    typer.Option(
        "--partitions",
        parser=integer_in(1, MAX_PARTITIONS),
        metavar="N",
        help="Sort partitions (default: one per 256 MiB, at least one per CPU of the Ray cluster).",
    ),
]
FilesOpt = Annotated[
    int, typer.Option("--files", parser=integer_in(1, MAX_FILES), metavar="N", help="Files to create.")
]
DirsOpt = Annotated[
    int,
    typer.Option(
        "--dirs", parser=integer_in(1, MAX_FILES), metavar="N", help="Directories they spread over."
    ),
]
SuiteRayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="An existing Ray cluster (HOST:PORT or ray://HOST:PORT): io, meta and kvcache run on its client "
        "nodes at once (--clients) and the thresholds judge their aggregate; the sort runs on it. Every node "
        "must see PATH. Default: this host, the sort on a local Ray started for the run.",
    ),
]
KvcacheSecondsOpt = Annotated[
    float | None,
    typer.Option(
        "--kvcache",
        parser=number(low=0, high=MAX_RUNTIME_S, low_open=True),
        metavar="SECONDS",
        help="Also the KVCache reads (fio), for SECONDS, over 8 files of --size in all. Default: not run.",
    ),
]
ClusterThresholdsOpt = Annotated[
    Path | None,
    typer.Option(
        "--cluster",
        metavar="FILE",
        dir_okay=False,
        help="A cluster YAML whose bench: section holds the thresholds.",
    ),
]
ThresholdOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--threshold",
        metavar="NAME=VALUE",
        help="A threshold, over the cluster file's (repeatable), e.g. seq_read_gib_s=10, "
        "rand_read_p99_ms=2, min_share=0.8.",
    ),
]
NoSortOpt = Annotated[bool, typer.Option("--no-sort", help="Skip the sort (no Smallpond or Ray needed).")]
