"""`flyer trace`: capture profiler traces of any job on every rank, analyse compute/communication overlap,
merge ranks into one trace, diff two traces."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from ..trace import analysis, capturing, comparison, merging, running
from ._options import JsonOpt, PlotOpt, integer, number
from ._output import Output
from .views import plotting, trace_plot
from .views import trace as view

app = typer.Typer(
    help="Profiler traces: capture any job on every rank, compute/communication overlap, merge, diff.",
    no_args_is_help=True,
)

RESULTS: dict[str, type] = {
    "capture": running.CaptureRun,
    "analyze": analysis.Analysis,
    "merge": merging.MergeResult,
    "diff": comparison.Comparison,
}
"""The record each command prints with --json (`flyer schema trace COMMAND`)."""

PathsArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH...",
        help="Trace files (.json, .json.gz) or directories of per-rank traces.",
        show_default=False,
    ),
]
CommOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--comm-pattern",
        metavar="REGEX",
        help="Communication kernels and ops (Python regex, searched in names; repeat for more). Replaces the "
        "built-in NCCL, DeepEP (deep_ep::, dpsk::ep::), gloo and c10d patterns.",
    ),
]
TopOpt = Annotated[
    int,
    typer.Option("--top", parser=integer, metavar="N", help="Kernels (and CPU ops) listed per rank; 0: all."),
]
ThreadsOpt = Annotated[
    int,
    typer.Option(
        "--threads",
        parser=integer,
        metavar="N",
        help="Threads reading files (several files, or parts of one large file); 0: one per core.",
    ),
]


def _steps(name: str, text: str) -> object:
    return typer.Option(f"--{name}", parser=integer, metavar="N", help=text)


@app.command(context_settings={"allow_interspersed_args": False})
def capture(
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="COMMAND [ARGS]...",
            help="The job: python ..., torchrun ..., or any command.",
            show_default=False,
        ),
    ],
    wait: Annotated[int, _steps("wait", "Steps skipped before each cycle (after the first step).")] = 1,
    warmup: Annotated[int, _steps("warmup", "Steps traced and dropped before each cycle's record.")] = 1,
    active: Annotated[int, _steps("active", "Steps recorded per cycle.")] = 3,
    repeat: Annotated[int, _steps("repeat", "Cycles; each writes a trace per rank (cycleN/).")] = 1,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            file_okay=False,
            help="Directory for the traces (new or empty); default flyer-trace-DATE-TIME.",
        ),
    ] = None,
    host_metrics: Annotated[
        bool, typer.Option("--host-metrics", help="Add counter tracks: CPU %, RSS, network and disk MB/s.")
    ] = False,
    host_metrics_hz: Annotated[
        float,
        typer.Option(
            "--host-metrics-hz",
            parser=number(low=0, low_open=True, high=1000),
            metavar="HZ",
            help="Host metrics samples per second.",
        ),
    ] = 10.0,
    record_shapes: Annotated[
        bool, typer.Option("--record-shapes", help="Record operator input shapes.")
    ] = False,
    with_stack: Annotated[
        bool, typer.Option("--with-stack", help="Record Python stacks of operators.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Run COMMAND with the PyTorch profiler in every Python process of it, without changing its code.

    The first optimizer step of each process starts its profiler; each later one advances it a step
    (code without an optimizer calls fireflyer.trace.step()). Every rank writes DIR/rankR.json with its
    rank in distributedInfo. The job's output passes through (to stderr under --json) and flyer exits with
    the job's exit code.

    Examples:
      flyer trace capture -- python train.py --lr 3e-4
      flyer trace capture --active 5 --out traces -- torchrun --nproc-per-node 8 train.py
      flyer trace capture --host-metrics --record-shapes -o run1 -- python serve_bench.py
      flyer trace capture --wait 10 --repeat 2 --json -- torchrun --nnodes 2 --nproc-per-node 8 train.py
    """
    out = Output(json)
    settings = capturing.Settings(
        out=out_dir or Path(time.strftime("flyer-trace-%Y%m%d-%H%M%S")),
        schedule=capturing.ProfilerSchedule(wait=wait, warmup=warmup, active=active, repeat=repeat),
        host_metrics_hz=host_metrics_hz if host_metrics else 0.0,
        record_shapes=record_shapes,
        with_stack=with_stack,
    )
    result = running.run(command, settings, stdout=sys.stderr if json else None)
    out.emit(result, lambda o: view.captured(o, result, active))
    raise typer.Exit(result.exit_code)


@app.command()
def analyze(
    paths: PathsArg,
    comm_pattern: CommOpt = None,
    top: TopOpt = 10,
    cpu: Annotated[
        bool, typer.Option("--cpu", help="Add the CPU-side breakdown where devices have kernels too.")
    ] = False,
    threads: ThreadsOpt = 0,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Compute/communication overlap per rank: busy, compute and communication time (unions of kernel
    time), their overlap, hidden and exposed communication, idle share, streams, top kernels; min, median
    and max across ranks, and the straggler: the rank with the most compute time (waits in communication
    excluded), named when it is more than 10% over the median rank's.

    Examples:
      flyer trace analyze traces/
      flyer trace analyze profile-data/train.json --top 20
      flyer trace analyze rank0.json.gz rank1.json.gz --comm-pattern 'nccl' --comm-pattern 'my_a2a' --json
      flyer trace analyze cpu-job/ --cpu
      flyer trace analyze traces/ --plot ranks.png
    """
    out = Output(json)
    plotting.check_plot(plot, paths)
    result = analysis.analyze(paths, comm_patterns=comm_pattern, top=top, cpu=cpu, threads=threads)
    out.emit(result, lambda o: view.analyzed(o, result))
    plotting.write(out, plot, trace_plot.analyzed, result)


@app.command()
def merge(
    paths: PathsArg,
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="FILE", dir_okay=False, help="The merged trace (JSON).", show_default=False
        ),
    ],
    align: Annotated[
        str,
        typer.Option(
            "--align",
            metavar="clock|step",
            help="clock: each event at its time; step: every rank's first ProfilerStep together.",
        ),
    ] = "clock",
    json: JsonOpt = False,
) -> None:
    """One trace of every rank, for Perfetto or chrome://tracing: a process per rank, a row per GPU stream
    and CPU thread, timestamps on one timeline.

    Examples:
      flyer trace merge traces/ --out all-ranks.json
      flyer trace merge traces/ -o aligned.json --align step
      flyer trace merge rank0.json rank1.json.gz -o two.json --json
    """
    out = Output(json)
    result = merging.merge(paths, out_file, align=align)
    out.emit(result, lambda o: view.merged(o, result))


@app.command()
def diff(
    a: Annotated[Path, typer.Argument(metavar="A", help="The baseline: a trace file or a directory.")],
    b: Annotated[Path, typer.Argument(metavar="B", help="The trace compared with it.")],
    comm_pattern: CommOpt = None,
    top: Annotated[int, typer.Option("--top", parser=integer, metavar="N", help="Rows listed; 0: all.")] = 20,
    threads: ThreadsOpt = 0,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Per-kernel time differences from A to B, largest first: what got slower (per profiler step when
    both have ProfilerStep annotations, else per rank).

    Examples:
      flyer trace diff before/ after/
      flyer trace diff baseline.json.gz candidate.json.gz --top 50
      flyer trace diff run1/ run2/ --json
      flyer trace diff before/ after/ --plot changes.svg
    """
    out = Output(json)
    plotting.check_plot(plot, [a, b])
    result = comparison.diff([a], [b], comm_patterns=comm_pattern, top=top, threads=threads)
    out.emit(result, lambda o: view.diffed(o, result))
    plotting.write(out, plot, trace_plot.diffed, result)
