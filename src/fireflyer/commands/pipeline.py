"""`flyer pipeline`: simulate, compare and sweep pipeline-parallel schedules, measure chunk times, run for
real."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import pipeline as lib
from .. import trace_events
from ..cluster import dist_env
from ..gates import write_junit
from ..io import atomic_write, check_outputs
from ._options import DeviceOpt, JsonOpt, JunitOpt, OutOpt, PlotOpt, Values, integer, number, values
from ._output import Output
from .views import pipeline as view
from .views import pipeline_plot, plotting

app = typer.Typer(
    help="Pipeline-parallel schedules (DualPipe, DualPipeV, 1F1B, ZB1P, ZB-V, ...): simulate, "
    "compare, sweep, measure, run.",
    no_args_is_help=True,
)

RESULTS: dict[str, type] = {
    "simulate": lib.Simulation,
    "compare": lib.ScheduleComparison,
    "sweep": list[lib.SweepRow] | lib.SweepWritten,  # type: ignore[dict-item]
    "measure": lib.Measurement,
    "run": lib.RunReport,
}
"""The record each command prints with --json (`flyer schema pipeline COMMAND`)."""

ScheduleOpt = Annotated[lib.ScheduleName, typer.Option("--schedule", "-s", help="Schedule.")]
RanksOpt = Annotated[
    int, typer.Option("--ranks", "-p", parser=integer, metavar="N", help="Pipeline ranks (PP).")
]
MicroOpt = Annotated[
    int, typer.Option("--microbatches", "-n", parser=integer, metavar="N", help="Micro-batches per step (N).")
]
ChunksOpt = Annotated[
    int,
    typer.Option(
        "--chunks", parser=integer, metavar="N", help="Virtual stages per rank of interleaved-1f1b."
    ),
]
_UNIT = "in any time unit shared by all times (results are in that unit)"
_PER_STAGE = "; one value, or one per stage separated by commas"
_time = values(float)
FOpt = Annotated[
    Values,
    typer.Option(
        "--f-time", parser=_time, metavar="T[,T...]", help=f"Forward chunk time F, {_UNIT}{_PER_STAGE}."
    ),
]
BOpt = Annotated[
    Values,
    typer.Option(
        "--b-time", parser=_time, metavar="T[,T...]", help=f"Full backward chunk time B{_PER_STAGE}."
    ),
]
WOpt = Annotated[
    Values,
    typer.Option(
        "--w-time",
        parser=_time,
        metavar="T[,T...]",
        help=f"Weight-gradient part W of B (at most B){_PER_STAGE}.",
    ),
]
FBOpt = Annotated[
    Values | None,
    typer.Option(
        "--fb-time",
        parser=_time,
        metavar="T[,T...]",
        help=f"Overlapped F&B pair time (default F+B){_PER_STAGE}.",
    ),
]
LatOpt = Annotated[
    float,
    typer.Option(
        "--p2p-latency",
        parser=number(),
        metavar="T",
        help="Point-to-point latency between ranks, in the same unit.",
    ),
]


def _one(v: Values) -> float | tuple[float, ...]:
    return v[0] if len(v) == 1 else tuple(v)


def _times(f: Values, b: Values, w: Values, fb: Values | None, latency: float) -> lib.ChunkTimes:
    return lib.ChunkTimes(
        f=_one(f), b=_one(b), w=_one(w), fb=None if fb is None else _one(fb), latency=latency
    )


@app.command()
def simulate(
    schedule: ScheduleOpt = lib.ScheduleName.DUALPIPE,
    ranks: RanksOpt = 8,
    microbatches: MicroOpt = 20,
    chunks: ChunksOpt = 2,
    f_time: FOpt = "1",  # type: ignore[assignment]
    b_time: BOpt = "2",  # type: ignore[assignment]
    w_time: WOpt = "1",  # type: ignore[assignment]
    fb_time: FBOpt = None,
    p2p_latency: LatOpt = 0.0,
    timeline: Annotated[
        bool, typer.Option("--timeline", help="Draw a per-rank Gantt chart, ops coloured by kind.")
    ] = False,
    chrome_trace: Annotated[
        Path | None,
        typer.Option(
            "--chrome-trace",
            dir_okay=False,
            metavar="FILE",
            help="Write a Chrome trace (Perfetto, chrome://tracing); 1 time unit = 1 ms.",
        ),
    ] = None,
    svg: Annotated[
        Path | None,
        typer.Option("--svg", dir_okay=False, metavar="FILE", help="Write the timeline as an SVG image."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Simulate one schedule: makespan, bubble, per-rank idle time and peak activations.

    Times are in any unit (all in the same one); results are in that unit.

    Examples:
      flyer pipeline simulate
      flyer pipeline simulate -s zb1p -p 8 -n 20 --timeline
      flyer pipeline simulate -s dualpipev -p 3 -n 7 --fb-time 2.5 --svg dpv.svg --chrome-trace dpv.json
      flyer pipeline simulate -s 1f1b -p 4 -n 8 --f-time 1,1,1,2 --p2p-latency 0.1 --json
    """
    out = Output(json)
    check_outputs([chrome_trace, svg])
    result = lib.simulate(
        schedule, ranks, microbatches, _times(f_time, b_time, w_time, fb_time, p2p_latency), chunks=chunks
    )
    title = f"{schedule} PP={ranks} N={microbatches}"
    if chrome_trace is not None:
        trace_events.write(chrome_trace, lib.chrome_trace(result.schedule, result.start, result.end))
        out.hint(f"wrote {chrome_trace}")
    if svg is not None:
        atomic_write(svg, lib.svg(result.schedule, result.start, result.end, title=title))
        out.hint(f"wrote {svg}")
    record = result.record()
    out.emit(record, lambda o: view.simulated(o, result, record, title, timeline=timeline))


@app.command()
def compare(
    ranks: Annotated[
        int,
        typer.Option(
            "--ranks",
            "-p",
            parser=integer,
            metavar="N",
            help="Pipeline ranks (PP) of the one-stage-per-rank schedules; V shapes and interleaving run "
            "the same PP stages on PP/2 ranks.",
        ),
    ] = 8,
    microbatches: MicroOpt = 20,
    f_time: FOpt = "1",  # type: ignore[assignment]
    b_time: BOpt = "2",  # type: ignore[assignment]
    w_time: WOpt = "1",  # type: ignore[assignment]
    fb_time: FBOpt = None,
    p2p_latency: LatOpt = 0.0,
    plot: PlotOpt = None,
    junit: JunitOpt = None,
    json: JsonOpt = False,
) -> None:
    """Every schedule side by side at the same number of pipeline stages, with the published bubble formula.

    Exit 1 when a schedule deadlocks; one that cannot run this configuration is listed with the reason.

    Examples:
      flyer pipeline compare
      flyer pipeline compare -p 16 -n 64 --fb-time 2.5
      flyer pipeline compare --json --junit schedules.xml
      flyer pipeline compare -p 8 -n 20 --plot compare.png
    """
    out = Output(json)
    plotting.check_plot(plot, outputs=[junit])
    result = lib.compare(ranks, microbatches, _times(f_time, b_time, w_time, fb_time, p2p_latency))
    out.emit(result, lambda o: view.compared(o, result))
    plotting.write(out, plot, pipeline_plot.compared, result)
    write_junit(junit, "flyer pipeline compare", result.checks())
    result.check()


@app.command()
def sweep(
    schedules: Annotated[
        str, typer.Option("--schedules", help="Comma-separated schedules, or 'all'.")
    ] = "1f1b,zb1p,dualpipe",
    ranks: Annotated[
        Values,
        typer.Option(
            "--ranks",
            "-p",
            parser=values(int),
            metavar="VALUES",
            help="PP values: '8', '4,8,16' or '2:32:2'.",
        ),
    ] = "4,8,16",  # type: ignore[assignment]
    microbatches: Annotated[
        Values,
        typer.Option(
            "--microbatches", "-n", parser=values(int), metavar="VALUES", help="N values, same syntax."
        ),
    ] = "32,64",  # type: ignore[assignment]
    f_time: Annotated[
        Values,
        typer.Option(
            "--f-time",
            parser=_time,
            metavar="VALUES",
            help="F values, same syntax, in any time unit shared by all times.",
        ),
    ] = "1",  # type: ignore[assignment]
    b_time: Annotated[
        Values, typer.Option("--b-time", parser=_time, metavar="VALUES", help="B values (same unit).")
    ] = "2",  # type: ignore[assignment]
    w_time: Annotated[
        Values, typer.Option("--w-time", parser=_time, metavar="VALUES", help="W values (same unit).")
    ] = "1",  # type: ignore[assignment]
    fb_time: Annotated[
        Values | None,
        typer.Option(
            "--fb-time",
            parser=_time,
            metavar="VALUES",
            help="F&B values (same unit; default F+B of each combination).",
        ),
    ] = None,
    p2p_latency: Annotated[
        Values,
        typer.Option(
            "--p2p-latency", parser=values(float), metavar="VALUES", help="p2p latency values (same unit)."
        ),
    ] = "0",  # type: ignore[assignment]
    out_file: OutOpt = None,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Simulate every combination of schedules, PP, N and chunk times; write JSON or CSV (by --out suffix).

    Combinations a schedule cannot run (odd PP for DualPipe, N < 2 PP, ...) or that deadlock are kept with
    `error` set.

    Examples:
      flyer pipeline sweep --ranks 4,8,16 --microbatches 32:256:32 --out sweep.csv
      flyer pipeline sweep --schedules all --fb-time 2,2.5,3 --json
      flyer pipeline sweep --schedules dualpipe --ranks 2:32:2 -n 64 --w-time 0.5,1 --out dp.json
      flyer pipeline sweep --schedules all --ranks 8 -n 16:256:16 --plot bubble.png
    """
    out = Output(json)
    plotting.check_plot(plot, outputs=[out_file])
    names = lib.sweep_names(schedules)
    axes: dict[str, Any] = dict(
        ranks=ranks, microbatches=microbatches, f=f_time, b=b_time, w=w_time, fb=fb_time, latency=p2p_latency
    )
    with out.progress("simulating", total=lib.sweep_size(names, **axes)) as advance:
        rows = lib.sweep(names, progress=advance, **axes)
    plotting.write(out, plot, pipeline_plot.swept, rows)
    if out_file is None:
        return out.emit(rows, lambda o: view.swept(o, rows))
    written = lib.write_sweep(rows, out_file)
    out.hint(f"wrote {written.configs} rows to {out_file}")
    out.emit(written)


@app.command()
def measure(
    model: Annotated[
        str, typer.Option("--model", help="Model profile to scale the block from, e.g. deepseek-v3.")
    ] = "deepseek-v3",
    hidden: Annotated[
        int | None,
        typer.Option(
            "--hidden", parser=integer, metavar="N", help="Hidden size of the scaled block (default 256)."
        ),
    ] = None,
    experts: Annotated[
        int | None,
        typer.Option(
            "--experts", parser=integer, metavar="N", help="Routed experts (default min(16, the model's))."
        ),
    ] = None,
    tokens: Annotated[
        int | None,
        typer.Option(
            "--tokens", parser=integer, metavar="N", help="Sequence length of one micro-batch (default 256)."
        ),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", parser=integer, metavar="N", help="Sequences per micro-batch.")
    ] = 1,
    device: DeviceOpt = "auto",
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            "--repeats",
            parser=integer,
            metavar="N",
            help="Fewest timed samples, after a warm-up of at least 3 steps and 1 s; medians with p20 "
            "and p80.",
        ),
    ] = 20,
    sample_seconds: Annotated[
        float | None,
        typer.Option(
            "--sample-seconds",
            parser=number(),
            metavar="SECONDS",
            help="Keep sampling until this many seconds have passed (default 10: speed drifts over "
            "seconds on a shared machine); 0 for the sample count alone.",
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            parser=integer,
            metavar="N",
            help="CPU threads, fixed while measuring (default: every core this process may use).",
        ),
    ] = None,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Measure in this process, not in a fresh one whose allocator keeps a huge-page heap "
            "(about 2 s faster to start, less steady between runs).",
        ),
    ] = False,
    schedule: ScheduleOpt = lib.ScheduleName.DUALPIPE,
    ranks: RanksOpt = 8,
    microbatches: MicroOpt = 20,
    chunks: ChunksOpt = 2,
    p2p_latency: Annotated[
        float,
        typer.Option(
            "--p2p-latency",
            parser=number(),
            metavar="SECONDS",
            help="Point-to-point latency between ranks, in seconds.",
        ),
    ] = 0.0,
    json: JsonOpt = False,
) -> None:
    """Time F, B and W (split backward) of a real MLA + MoE block and simulate a schedule with those times.

    The block (RMSNorm, MLA attention, RMSNorm, MoE with shared experts) is scaled down from the model
    profile to fit this machine; B-input + W is the zero-bubble split of B. Times are in seconds.

    Examples:
      flyer pipeline measure
      flyer pipeline measure --model deepseek-v2-lite --hidden 512 --tokens 512
      flyer pipeline measure -s zb1p -p 4 -n 16 --samples 5 --json
    """
    out = Output(json)
    block = dict(model=model, hidden=hidden, experts=experts, tokens=tokens, batch=batch)
    timing = dict(device=device, samples=samples, threads=threads, fresh_process=not in_process)
    if sample_seconds is not None:
        timing["sample_seconds"] = sample_seconds
    with out.progress("measuring F, B, B-input, W (1 s warm-up, then sampling)", total=1.0) as advance:
        m, result = lib.measure_and_simulate(
            schedule,
            ranks,
            microbatches,
            chunks=chunks,
            latency=p2p_latency,
            progress=advance,
            **block,
            **timing,
        )
    record = lib.Measurement(measured=m, simulated=result.record())
    out.emit(record, lambda o: view.measured(o, record, f"{schedule} PP={ranks} N={microbatches}"))


@app.command()
def run(
    schedule: ScheduleOpt = lib.ScheduleName.DUALPIPE,
    ranks: Annotated[
        int,
        typer.Option(
            "--ranks",
            "-p",
            parser=integer,
            metavar="N",
            help="Processes (pipeline ranks); under torchrun, its WORLD_SIZE.",
        ),
    ] = 4,
    microbatches: MicroOpt = 8,
    hidden: Annotated[
        int, typer.Option("--hidden", parser=integer, metavar="N", help="Width of the toy model's stages.")
    ] = 64,
    batch: Annotated[
        int, typer.Option("--batch", parser=integer, metavar="N", help="Rows per micro-batch.")
    ] = 8,
    seed: Annotated[
        int, typer.Option("--seed", parser=integer, metavar="N", help="Seed for weights and data.")
    ] = 0,
    backend: Annotated[
        lib.DistBackend | None,
        typer.Option("--backend", help="Default: nccl with a GPU per rank, else gloo."),
    ] = None,
    chrome_trace: Annotated[
        Path | None,
        typer.Option(
            "--chrome-trace",
            dir_okay=False,
            metavar="FILE",
            help="Write the measured timeline as a Chrome trace (Perfetto, chrome://tracing).",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Run one training step of a schedule for real in P processes and check it against a single process.

    A small model split into stages runs on torch.distributed (gloo on CPU, NCCL on GPU), spawned here or
    under torchrun (rank 0 reports). Exit 1 if the loss, the gradients (cosine difference >= 1e-6) or any
    rank's op order differ. Times are in seconds.

    Examples:
      flyer pipeline run
      flyer pipeline run -s dualpipev -p 2 -n 4 --chrome-trace run.json
      flyer pipeline run -s 1f1b -p 2 -n 8 --hidden 256 --json
      torchrun --nproc-per-node 4 -m fireflyer.cli pipeline run -s dualpipe -p 4 -n 8
    """
    out = Output(json)
    cfg = lib.RunConfig(
        schedule=schedule, ranks=ranks, microbatches=microbatches, hidden=hidden, batch=batch, seed=seed
    )
    with out.progress(f"running {schedule} on {ranks} processes"):
        result = lib.run(cfg, backend=backend)
    env = dist_env()
    if env is not None and env.rank != 0:  # under torchrun every rank holds the result; rank 0 reports it
        lib.check(result)
        return
    if chrome_trace is not None:
        trace_events.write(chrome_trace, lib.measured_trace(result))
        out.hint(f"wrote {chrome_trace}")
    record = result.record()
    out.emit(record, lambda o: view.ran(o, record, f"{schedule} PP={ranks} N={microbatches}"))
    lib.check(result)
