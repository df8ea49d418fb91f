"""How `flyer pipeline` results look on a terminal: tables, the published-formula note, the timeline."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ... import pipeline as lib
from .._output import Output

STYLE = {
    "F": "on blue",
    "B": "on dark_orange",
    "B-input": "black on yellow",
    "W": "black on green",
    "F&B": "on purple",
}


def formula_note(o: Output, formula: Any, bubble: float) -> None:
    if formula is None:
        o.line("published formula: none for this schedule", style="dim")
    elif abs(formula - bubble) > 1e-9 * max(1.0, bubble):
        o.line(
            f"published formula gives {formula:g}, the simulation {bubble:g}: the formula is exact only for "
            "some chunk times (e.g. F = W = B/2, 2 <= F&B <= 3); the simulation is the truth",
            style="yellow",
        )
    else:
        o.line(f"published formula: {formula:g} (matches the simulation)", style="dim")


def draw_timeline(o: Output, result: Any, unit: str) -> None:
    """The timeline in bands that fit the terminal; every op labelled (kind letter and micro-batch)."""
    width = max(20, (o.console.width or 80) - 10)
    bands = lib.timeline_bands(result.schedule, result.start, result.end, width)
    for band in bands:
        o.console.print(Text(f"{'':9}t = {band.t0:g} .. {band.t1:g} {unit}", style="dim"))
        for r, runs in enumerate(band.rows):
            line = Text(f"rank {r:<3} ")
            for text, kind in runs:
                line.append(text, style=STYLE[kind] if kind else "dim")
            o.console.print(line, soft_wrap=True, no_wrap=True, overflow="ignore")
    legend = Text("legend: ")
    for kind, style in STYLE.items():
        legend.append(f" {kind} ", style=style)
        legend.append(" ")
    legend.append(
        "  F forward, B backward, b B-input, W weight gradients, F3&B1 an overlapped pair; "
        "3' DualPipe's second direction, 3.1 chunk 1; · idle"
    )
    o.console.print(legend, soft_wrap=True)


def simulated(o: Output, result: Any, data: lib.Simulation, title: str, *, timeline: bool) -> None:
    if timeline:
        draw_timeline(o, result, "time units")
    o.kv(
        {
            "schedule": title,
            "makespan": data.makespan,
            "bubble (largest idle)": data.bubble,
            "bubble fraction": f"{data.bubble_fraction:.2%}",
            "peak activations": data.peak_activations,
            "parameter copies": data.parameter_copies,
            "stages": data.stages,
        }
    )
    formula_note(o, data.formula_bubble, data.bubble)
    o.table(
        ["rank", "busy", "idle", "peak activations", "ops"],
        [(r.rank, r.busy, r.idle, r.peak_activations, r.ops) for r in data.per_rank],
    )


def compared(o: Output, data: lib.ScheduleComparison) -> None:
    rows = data.schedules
    o.table(
        ["schedule", "ranks", "bubble", "formula", "bubble%", "makespan", "peak act.", "params"],
        [
            (
                r.schedule,
                r.devices,
                r.bubble,
                r.formula_bubble,
                None if r.bubble_fraction is None else f"{r.bubble_fraction:.2%}",
                r.makespan,
                r.peak_activations,
                None if r.parameter_copies is None else f"{r.parameter_copies}x",
            )
            for r in rows
        ],
        title=f"{data.stages} pipeline stages, {data.microbatches} micro-batches",
    )
    for r in rows:
        if r.error:
            o.line(f"{r.schedule}: {r.error}", style="dim")
        elif r.formula_matches is False:
            o.line(
                f"{r.schedule}: published formula {r.formula_bubble:g} differs from the simulated "
                f"{r.bubble:g}; the simulation is the truth",
                style="yellow",
            )


def swept(o: Output, rows: list[lib.SweepRow]) -> None:
    cols = {
        "schedule": "schedule",
        "ranks": "PP",
        "microbatches": "N",
        "f": "F",
        "b": "B",
        "w": "W",
        "fb": "F&B",
        "latency": "p2p",
        "makespan": "makespan",
        "bubble": "bubble",
        "formula_bubble": "formula",
        "peak_activations": "peak act.",
        "error": "error",
    }
    o.table(list(cols.values()), [[getattr(r, c) for c in cols] for r in rows], keys=3)


def measured(o: Output, data: lib.Measurement, title: str) -> None:
    m, sim = data.measured, data.simulated
    d = m.dims
    threads = f", {m.threads} threads" if m.threads else ""
    o.kv(
        {
            "model": f"{m.model}, scaled: hidden {d['hidden']}, {d['experts']} experts (top-{d['top_k']}), "
            f"{d['tokens']} tokens",
            "device": f"{m.device}, {m.dtype}{threads}",
        }
    )
    o.table(
        ["chunk", "median ms", "p20 ms", "p80 ms"],
        [
            (
                name,
                f"{getattr(m, key) * 1e3:.3f}",
                f"{m.spread[key]['p20'] * 1e3:.3f}",
                f"{m.spread[key]['p80'] * 1e3:.3f}",
            )
            for name, key in (("F", "f"), ("B", "b"), ("B-input", "b_input"), ("W", "w"))
        ]
        + [("F&B", f"{m.fb * 1e3:.3f}", "-", "-")],
        title=f"{m.samples} samples, {m.warmup} warm-up steps",
    )
    o.kv(
        {
            "schedule": title,
            "makespan": f"{sim.makespan * 1e3:.2f} ms",
            "bubble": f"{sim.bubble * 1e3:.2f} ms",
            "bubble fraction": f"{sim.bubble_fraction:.2%}",
            "peak activations": sim.peak_activations,
        }
    )
    for n in m.notes:
        o.warn(n)


def ran(o: Output, data: lib.RunReport, title: str) -> None:
    m, sim = data.measured, data.simulated
    o.table(
        ["", "simulated", "measured"],
        [
            ("makespan (ms)", sim.makespan * 1e3, m.makespan * 1e3),
            ("bubble (ms)", sim.bubble * 1e3, m.bubble * 1e3),
            ("bubble fraction", f"{sim.bubble_fraction:.2%}", f"{m.bubble_fraction:.2%}"),
        ],
        title=f"{title} ({data.backend})",
    )
    o.line(
        f"simulated: the core simulator fed the measured median chunk times and p2p latency "
        f"({data.p2p_latency * 1e3:.3g} ms, ping-pong of one activation between ranks 0 and 1)",
        style="dim",
    )
    o.kv(
        {
            "loss": f"{data.loss:.9g} (single process {data.reference_loss:.9g})",
            "max gradient cosine difference": data.max_cosine_difference,
            "op order matches": "every rank"
            if data.op_order_matches
            else "no: ranks " + ", ".join(str(r.rank) for r in data.per_rank if not r.op_order_matches),
            "wall time (s)": data.wall_seconds,
        }
    )
    for note in data.notes:
        o.warn(note)
