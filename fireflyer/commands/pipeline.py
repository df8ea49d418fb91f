"""`flyer pipeline`: simulate, compare and sweep pipeline-parallel schedules, measure chunk times, run for real."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import pipeline as lib
from ..cluster.launch import dist_env
from ..errors import InputError
from ..io import atomic_write, dumps_json
from ._options import JsonOpt, OutOpt
from ._output import Output

app = typer.Typer(help="Pipeline-parallel schedules (DualPipe, DualPipeV, 1F1B, ZB1P, ...): simulate, compare, "
                  "sweep, measure, run.", no_args_is_help=True)

_SCHED_HELP = "Schedule: " + ", ".join(lib.SCHEDULES) + "."
ScheduleOpt = Annotated[str, typer.Option("--schedule", "-s", help=_SCHED_HELP)]
RanksOpt = Annotated[int, typer.Option("--ranks", "-p", help="Pipeline ranks (PP).")]
MicroOpt = Annotated[int, typer.Option("--microbatches", "-n", help="Micro-batches per step (N).")]
ChunksOpt = Annotated[int, typer.Option("--chunks", help="Virtual stages per rank of interleaved-1f1b.")]
_PER_STAGE = "; one value, or one per stage separated by commas"
FOpt = Annotated[str, typer.Option("--f-time", help="Forward chunk time F" + _PER_STAGE + ".")]
BOpt = Annotated[str, typer.Option("--b-time", help="Full backward chunk time B" + _PER_STAGE + ".")]
WOpt = Annotated[str, typer.Option("--w-time", help="Weight-gradient part W of B" + _PER_STAGE + ".")]
FBOpt = Annotated[str | None, typer.Option("--fb-time", help="Overlapped F&B pair time (default F+B)" + _PER_STAGE + ".")]
LatOpt = Annotated[float, typer.Option("--p2p-latency", help="Point-to-point latency between ranks.")]
STYLE = {"F": "on blue", "B": "on dark_orange", "B-input": "black on yellow", "W": "black on green",
         "F&B": "on purple"}


def _times(f: str, b: str, w: str, fb: str | None, latency: float) -> lib.ChunkTimes:
    def parse(text: str, name: str):
        try:
            vals = tuple(float(x) for x in text.split(","))
        except ValueError:
            raise InputError(f"expected a number or comma-separated numbers, got '{text}'", field=name) from None
        return vals[0] if len(vals) == 1 else vals

    return lib.ChunkTimes(f=parse(f, "f-time"), b=parse(b, "b-time"), w=parse(w, "w-time"),
                          fb=None if fb is None else parse(fb, "fb-time"), latency=latency)


def _formula_note(o: Output, formula: Any, bubble: float) -> None:
    if formula is None:
        o.line("README formula: none for this schedule", style="dim")
    elif abs(formula - bubble) > 1e-9 * max(1.0, bubble):
        o.line(f"README formula gives {formula:g}, the simulation {bubble:g}: the formula is exact only for some "
               "chunk times (e.g. F = W = B/2, 2 <= F&B <= 3); the simulation is the truth", style="yellow")
    else:
        o.line(f"README formula: {formula:g} (matches the simulation)", style="dim")


def render_timeline(o: Output, result: lib.SimResult) -> None:
    from rich.text import Text

    width = max(20, (o.console.width or 120) - 9)
    for r, runs in enumerate(lib.timeline_rows(result.schedule, result.start, result.end, width)):
        line = Text(f"rank {r:<3}|")
        for text, kind in runs:
            line.append(text, style=STYLE[kind] if kind else "")
        o.console.print(line, soft_wrap=True)
    legend = Text("legend:  ")
    for kind, style in STYLE.items():
        legend.append(f" {kind} ", style=style)
        legend.append("  ")
    o.console.print(legend)


@app.command()
def simulate(
    schedule: ScheduleOpt = "dualpipe",
    ranks: RanksOpt = 8,
    microbatches: MicroOpt = 20,
    chunks: ChunksOpt = 2,
    f_time: FOpt = "1",
    b_time: BOpt = "2",
    w_time: WOpt = "1",
    fb_time: FBOpt = None,
    p2p_latency: LatOpt = 0.0,
    timeline: Annotated[bool, typer.Option("--timeline", help="Draw a per-rank Gantt chart, ops coloured by kind.")] = False,
    chrome_trace: Annotated[Path | None, typer.Option("--chrome-trace", dir_okay=False, help="Write a Chrome trace (Perfetto, chrome://tracing); 1 time unit = 1 ms.")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", dir_okay=False, help="Write the timeline as an SVG image.")] = None,
    json: JsonOpt = False,
) -> None:
    """Simulate one schedule: makespan, bubble, per-rank idle time and peak activations.

    Examples:
      flyer pipeline simulate
      flyer pipeline simulate -s zb1p -p 8 -n 20 --timeline
      flyer pipeline simulate -s dualpipev -p 3 -n 7 --fb-time 2.5 --svg dpv.svg --chrome-trace dpv.json
      flyer pipeline simulate -s 1f1b -p 4 -n 8 --f-time 1,1,1,2 --p2p-latency 0.1 --json
    """
    out = Output(json)
    result = lib.simulate(schedule, ranks, microbatches, _times(f_time, b_time, w_time, fb_time, p2p_latency),
                          chunks=chunks)
    title = f"{schedule} PP={ranks} N={microbatches}"
    if chrome_trace is not None:
        atomic_write(chrome_trace, dumps_json(lib.chrome_trace(result.schedule, result.start, result.end)))
        out.hint(f"wrote {chrome_trace}")
    if svg is not None:
        atomic_write(svg, lib.svg(result.schedule, result.start, result.end, title=title))
        out.hint(f"wrote {svg}")
    data = result.to_dict()

    def render(o: Output) -> None:
        if timeline:
            render_timeline(o, result)
        o.kv({"schedule": title, "makespan": data["makespan"], "bubble (largest idle)": data["bubble"],
              "bubble fraction": f"{data['bubble_fraction']:.2%}", "peak activations": data["peak_activations"],
              "parameter copies": data["parameter_copies"], "stages": data["stages"]})
        _formula_note(o, data["formula_bubble"], data["bubble"])
        o.table(["rank", "busy", "idle", "peak activations", "ops"],
                [(r["rank"], r["busy"], r["idle"], r["peak_activations"], r["ops"]) for r in data["per_rank"]])

    out.emit(data, render)


@app.command()
def compare(
    ranks: Annotated[int, typer.Option("--ranks", "-p", help="Pipeline stages (PP); V shapes and interleaving run them on PP/2 devices.")] = 8,
    microbatches: MicroOpt = 20,
    f_time: FOpt = "1",
    b_time: BOpt = "2",
    w_time: WOpt = "1",
    fb_time: FBOpt = None,
    p2p_latency: LatOpt = 0.0,
    json: JsonOpt = False,
) -> None:
    """Every schedule side by side at the same number of pipeline stages, with the README formula.

    Examples:
      flyer pipeline compare
      flyer pipeline compare -p 16 -n 64 --fb-time 2.5
      flyer pipeline compare --json
    """
    out = Output(json)
    rows = lib.compare(ranks, microbatches, _times(f_time, b_time, w_time, fb_time, p2p_latency))
    data = {"stages": ranks, "microbatches": microbatches, "schedules": rows}

    def render(o: Output) -> None:
        o.table(["schedule", "devices", "bubble", "formula", "bubble %", "makespan", "peak act.", "params"],
                [(r["schedule"], r["devices"], r["bubble"], r["formula_bubble"],
                  None if r["bubble_fraction"] is None else f"{r['bubble_fraction']:.2%}", r["makespan"],
                  r["peak_activations"], None if r["parameter_copies"] is None else f"{r['parameter_copies']}x")
                 for r in rows], title=f"{ranks} pipeline stages, {microbatches} micro-batches")
        for r in rows:
            if r["error"]:
                o.line(f"{r['schedule']}: {r['error']}", style="dim")
            elif r["formula_matches"] is False:
                o.line(f"{r['schedule']}: README formula {r['formula_bubble']:g} differs from the simulated "
                       f"{r['bubble']:g}; the simulation is the truth", style="yellow")

    out.emit(data, render)


def _ints(text: str, name: str) -> list[int]:
    return [int(x) for x in _nums(text, name)]


def _nums(text: str, name: str) -> list[float]:
    """'8', '2,4,8' or 'lo:hi[:step]' (inclusive)."""
    vals: list[float] = []
    try:
        for part in text.split(","):
            if ":" in part:
                bits = [float(x) for x in part.split(":")]
                lo, hi, step = bits[0], bits[1], bits[2] if len(bits) > 2 else 1.0
                if step <= 0 or len(bits) > 3:
                    raise ValueError
                k = 0
                while lo + k * step <= hi + 1e-9:
                    vals.append(round(lo + k * step, 12))
                    k += 1
            else:
                vals.append(float(part))
    except ValueError:
        raise InputError(f"expected numbers like '8', '2,4,8' or '2:32:2', got '{text}'", field=name) from None
    return vals


@app.command()
def sweep(
    schedules: Annotated[str, typer.Option("--schedules", help="Comma-separated schedules, or 'all'.")] = "1f1b,zb1p,dualpipe",
    ranks: Annotated[str, typer.Option("--ranks", "-p", help="PP values: '8', '4,8,16' or '2:32:2'.")] = "4,8,16",
    microbatches: Annotated[str, typer.Option("--microbatches", "-n", help="N values, same syntax.")] = "32,64",
    f_time: Annotated[str, typer.Option("--f-time", help="F values, same syntax.")] = "1",
    b_time: Annotated[str, typer.Option("--b-time", help="B values.")] = "2",
    w_time: Annotated[str, typer.Option("--w-time", help="W values.")] = "1",
    fb_time: Annotated[str | None, typer.Option("--fb-time", help="F&B values (default F+B of each combination).")] = None,
    p2p_latency: Annotated[str, typer.Option("--p2p-latency", help="Latency values.")] = "0",
    out_file: OutOpt = None,
    json: JsonOpt = False,
) -> None:
    """Simulate every combination of schedules, PP, N and chunk times; write JSON or CSV (by --out suffix).

    Combinations a schedule cannot run (odd PP for DualPipe, N < 2 PP, ...) are kept with `error` set.

    Examples:
      flyer pipeline sweep --ranks 4,8,16 --microbatches 32:256:32 --out sweep.csv
      flyer pipeline sweep --schedules all --fb-time 2,2.5,3 --json
      flyer pipeline sweep --schedules dualpipe --ranks 2:32:2 -n 64 --w-time 0.5,1 --out dp.json
    """
    out = Output(json)
    names = list(lib.SCHEDULES) if schedules == "all" else [s.strip() for s in schedules.split(",") if s.strip()]
    axes = dict(ranks=_ints(ranks, "ranks"), microbatches=_ints(microbatches, "microbatches"),
                f=_nums(f_time, "f-time"), b=_nums(b_time, "b-time"), w=_nums(w_time, "w-time"),
                fb=None if fb_time is None else _nums(fb_time, "fb-time"), latency=_nums(p2p_latency, "p2p-latency"))
    total = len(names) * len(axes["ranks"]) * len(axes["microbatches"]) * len(axes["f"]) * len(axes["b"]) * \
        len(axes["w"]) * len(axes["fb"] or [0]) * len(axes["latency"])
    with out.progress("simulating", total=total) as advance:
        rows = lib.sweep(names, progress=advance, **axes)
    if out_file is not None:
        text = lib.sweep_csv(rows) if out_file.suffix.lower() == ".csv" else dumps_json(rows)
        atomic_write(out_file, text)
        out.hint(f"wrote {len(rows)} rows to {out_file}")
        out.emit({"configs": len(rows), "errors": sum(r["error"] is not None for r in rows), "out": str(out_file)})
        return
    cols = ["schedule", "ranks", "microbatches", "f", "b", "w", "fb", "makespan", "bubble", "formula_bubble",
            "peak_activations", "error"]
    out.emit(rows, lambda o: o.table(cols, [[r[c] for c in cols] for r in rows]))


@app.command()
def measure(
    model: Annotated[str, typer.Option("--model", help="Model profile to scale the block from, e.g. deepseek-v3.")] = "deepseek-v3",
    hidden: Annotated[int | None, typer.Option("--hidden", help="Hidden size of the scaled block (default 256).")] = None,
    experts: Annotated[int | None, typer.Option("--experts", help="Routed experts (default min(16, the model's)).")] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", help="Sequence length of one micro-batch (default 256).")] = None,
    batch: Annotated[int, typer.Option("--batch", help="Sequences per micro-batch.")] = 1,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA if present, else CPU), cpu or cuda.")] = "auto",
    repeats: Annotated[int, typer.Option("--repeats", help="Timed repeats; medians are reported.")] = 10,
    schedule: ScheduleOpt = "dualpipe",
    ranks: RanksOpt = 8,
    microbatches: MicroOpt = 20,
    chunks: ChunksOpt = 2,
    p2p_latency: Annotated[float, typer.Option("--p2p-latency", help="Point-to-point latency between ranks, in seconds.")] = 0.0,
    json: JsonOpt = False,
) -> None:
    """Time F, B and W (split backward) of a real MLA + MoE block and simulate a schedule with those times.

    The block (RMSNorm, MLA attention, RMSNorm, MoE with shared experts) is scaled down from the model
    profile to fit this machine; B-input + W is the zero-bubble split of B.

    Examples:
      flyer pipeline measure
      flyer pipeline measure --model deepseek-v2-lite --hidden 512 --tokens 512
      flyer pipeline measure -s zb1p -p 4 -n 16 --repeats 5 --json
    """
    from ..pipeline import measure as meas

    out = Output(json)
    with out.progress("measuring F, B, W"):
        m, result = meas.measure_and_simulate(schedule, ranks, microbatches, chunks=chunks, latency=p2p_latency,
                                              model=model, hidden=hidden, experts=experts, tokens=tokens,
                                              batch=batch, device=device, repeats=repeats)
    sim = result.to_dict()
    data = {"measured": m.to_dict(), "simulated": sim}

    def render(o: Output) -> None:
        d = m.dims
        o.kv({"model": f"{m.model}, scaled: hidden {d['hidden']}, {d['experts']} experts (top-{d['top_k']}), "
                       f"{d['tokens']} tokens", "device": f"{m.device}, {m.dtype}"})
        o.table(["chunk", "median ms"], [("F", f"{m.f * 1e3:.3f}"), ("B", f"{m.b * 1e3:.3f}"),
                                         ("B-input", f"{m.b_input * 1e3:.3f}"), ("W", f"{m.w * 1e3:.3f}"),
                                         ("F&B", f"{m.fb * 1e3:.3f}")], title=f"median of {m.repeats}")
        o.kv({"schedule": f"{schedule} PP={ranks} N={microbatches}",
              "makespan": f"{sim['makespan'] * 1e3:.2f} ms", "bubble": f"{sim['bubble'] * 1e3:.2f} ms",
              "bubble fraction": f"{sim['bubble_fraction']:.2%}", "peak activations": sim["peak_activations"]})
        for n in m.notes:
            o.warn(n)

    out.emit(data, render)


@app.command()
def run(
    schedule: Annotated[str, typer.Option("--schedule", "-s", help=_SCHED_HELP)] = "dualpipe",
    ranks: Annotated[int, typer.Option("--ranks", "-p", help="Processes (pipeline ranks); under torchrun, its WORLD_SIZE.")] = 4,
    microbatches: MicroOpt = 8,
    hidden: Annotated[int, typer.Option("--hidden", help="Width of the toy model's stages.")] = 64,
    batch: Annotated[int, typer.Option("--batch", help="Rows per micro-batch.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed for weights and data.")] = 0,
    backend: Annotated[str | None, typer.Option("--backend", help="gloo or nccl (default: nccl with a GPU per rank, else gloo).")] = None,
    chrome_trace: Annotated[Path | None, typer.Option("--chrome-trace", dir_okay=False, help="Write the measured timeline as a Chrome trace (Perfetto, chrome://tracing).")] = None,
    json: JsonOpt = False,
) -> None:
    """Run one training step of a schedule for real in P processes and check it against a single process.

    A small model split into stages runs on torch.distributed (gloo on CPU, NCCL on GPU), spawned here or under
    torchrun (rank 0 reports). Exit 1 if the loss, the gradients (cosine difference >= 1e-6) or any rank's op order differ.

    Examples:
      flyer pipeline run
      flyer pipeline run -s dualpipev -p 2 -n 4 --chrome-trace run.json
      flyer pipeline run -s 1f1b -p 2 -n 8 --hidden 256 --json
      torchrun --nproc-per-node 4 -m fireflyer.cli pipeline run -s dualpipe -p 4 -n 8
    """
    out = Output(json)
    cfg = lib.RunConfig(schedule=schedule, ranks=ranks, microbatches=microbatches, hidden=hidden, batch=batch,
                        seed=seed)
    result = lib.run(cfg, backend=backend)
    env = dist_env()
    if env is not None and env.rank != 0:  # under torchrun every rank holds the result; rank 0 reports it
        lib.check(result)
        return
    if chrome_trace is not None:
        atomic_write(chrome_trace, dumps_json(lib.chrome_trace(result.schedule, result.measured_start,
                                                               result.measured_end, us_per_unit=1e6,
                                                               meta={"source": "measured", "backend": result.backend})))
        out.hint(f"wrote {chrome_trace}")
    data = result.to_dict()

    def render(o: Output) -> None:
        m, sim = data["measured"], data["simulated"]
        o.table(["", "simulated", "measured"],
                [("makespan (ms)", sim["makespan"] * 1e3, m["makespan"] * 1e3),
                 ("bubble (ms)", sim["bubble"] * 1e3, m["bubble"] * 1e3),
                 ("bubble fraction", f"{sim['bubble_fraction']:.2%}", f"{m['bubble_fraction']:.2%}")],
                title=f"{schedule} PP={ranks} N={microbatches} ({data['backend']})")
        o.line(f"simulated: the core simulator fed the measured median chunk times and p2p latency "
               f"({data['p2p_latency'] * 1e3:.3g} ms, ping-pong of one activation between ranks 0 and 1)",
               style="dim")
        o.kv({"loss": f"{data['loss']:.9g} (single process {data['reference_loss']:.9g})",
              "max gradient cosine difference": data["max_cosine_difference"],
              "op order matches": "every rank" if data["op_order_matches"] else
              "no: ranks " + ", ".join(str(r["rank"]) for r in data["per_rank"] if not r["op_order_matches"]),
              "wall time (s)": data["wall_seconds"]})
        for note in data["notes"]:
            o.warn(note)

    out.emit(data, render)
    lib.check(result)
