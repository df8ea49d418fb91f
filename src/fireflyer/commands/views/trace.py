"""How `flyer trace` results look on a terminal: per-rank overlap tables, spreads, streams, top kernels."""

from __future__ import annotations

import shlex
from pathlib import Path

from ...trace.analysis import Analysis, RankFigures, percent
from ...trace.comparison import Comparison
from ...trace.merging import MergeResult
from ...trace.running import CaptureRun
from .._output import Output, fmt_pct

NAME_WIDTH = 52


def _ms(us: float | None) -> float | None:
    return None if us is None else us / 1000.0


def _name(name: str) -> str:
    """A kernel name as a person reads it: no return type, no parameter list, at most NAME_WIDTH long
    (JSON output keeps the full name)."""
    name = name.removeprefix("void ")
    if name.endswith(")"):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i] if i > 0 else name
                break
    name = name.replace(", ", ",")
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


def _label(metric: str) -> str:
    return metric.removesuffix("_us").removesuffix("_pct").replace("_", " ")


def _who(e: RankFigures) -> str:
    return str(e.rank) if e.rank is not None else Path(e.file).name


def _detail(o: Output, e: RankFigures) -> None:
    if e.streams:
        o.table(
            ["stream", "kernels", "busy ms", "compute ms", "comm ms", "memory ms", "busy %"],
            [
                (
                    s.stream,
                    s.kernels,
                    _ms(s.busy_us),
                    _ms(s.compute_us),
                    _ms(s.comm_us),
                    _ms(s.memory_us),
                    fmt_pct(percent(s.busy_us, e.span_us)),
                )
                for s in e.streams
            ],
            title=f"streams of {e.label}",
        )
    if e.top_kernels:
        o.table(
            ["kernel", "kind", "count", "total ms", "mean us", "max us"],
            [(_name(k.name), k.kind, k.count, _ms(k.total_us), k.mean_us, k.max_us) for k in e.top_kernels],
            title=f"top kernels of {e.label} (by total time)",
            justify=["left", "left", "right", "right", "right", "right"],
        )
    if e.cpu is not None:
        c = e.cpu
        o.kv(
            {
                "CPU span ms": _ms(c.span_us),
                "CPU busy ms": _ms(c.busy_us),
                "CPU compute ms": _ms(c.compute_us),
                "CPU communication ms": _ms(c.comm_us),
                "CPU idle": fmt_pct(c.idle_pct),
                "CPU ops": c.ops,
            },
            title=f"CPU side of {e.label}",
        )
        o.table(
            ["pid", "tid", "ops", "busy ms", "comm ms"],
            [(t.pid, t.tid, t.ops, _ms(t.busy_us), _ms(t.comm_us)) for t in c.threads],
            title="threads",
        )
        o.table(
            ["op", "comm", "count", "self ms", "total ms"],
            [(_name(p.name), p.comm, p.count, _ms(p.self_us), _ms(p.total_us)) for p in c.top_ops],
            title="top CPU ops (by self time)",
            justify=["left", "left", "right", "right", "right"],
        )


def analyzed(o: Output, a: Analysis) -> None:
    gpu = [e for e in a.ranks if e.kernels or e.memory_ops]
    if gpu:
        o.table(
            [
                "rank",
                "device",
                "span",
                "busy",
                "compute",
                "comm",
                "overlap",
                "hidden",
                "exposed",
                "idle",
                "kernels",
                "steps",
            ],
            [
                (
                    _who(e),
                    e.device,
                    _ms(e.span_us),
                    _ms(e.busy_us),
                    _ms(e.compute_us),
                    _ms(e.comm_us),
                    _ms(e.overlap_us),
                    fmt_pct(e.comm_hidden_pct),
                    _ms(e.exposed_comm_us),
                    fmt_pct(e.idle_pct),
                    e.kernels,
                    e.steps,
                )
                for e in gpu
            ],
            title="compute/communication overlap per rank (ms; hidden: comm under compute)",
        )
    cpu_only = [e for e in a.ranks if e not in gpu]
    if cpu_only:
        o.line(
            f"{len(cpu_only)} trace(s) have no device kernels (CPU-only): CPU-side figures instead",
            style="yellow",
        )
        o.table(
            [
                "rank",
                "CPU span ms",
                "CPU busy ms",
                "CPU compute ms",
                "CPU comm ms",
                "CPU idle",
                "ops",
                "steps",
            ],
            [
                (
                    _who(e),
                    _ms(e.cpu.span_us),
                    _ms(e.cpu.busy_us),
                    _ms(e.cpu.compute_us),
                    _ms(e.cpu.comm_us),
                    fmt_pct(e.cpu.idle_pct),
                    e.cpu.ops,
                    e.steps,
                )
                for e in cpu_only
                if e.cpu is not None
            ],
        )
    s = a.summary
    if s.ranks > 1 and s.metrics:
        o.table(
            ["figure", "min", "median", "max", "min rank", "max rank"],
            [
                (
                    _label(name),
                    *(
                        (fmt_pct(v) for v in (m.min, m.median, m.max))
                        if name.endswith("pct")
                        else (_ms(v) for v in (m.min, m.median, m.max))
                    ),
                    m.min_rank,
                    m.max_rank,
                )
                for name, m in s.metrics.items()
            ],
            title="across ranks (ms, or % of span or of communication)",
        )
    if s.straggler is not None:
        g = s.straggler
        who = f"rank {g.rank}" if g.rank is not None else Path(g.file).name
        over = f"{g.over_median_pct:.1f}% over" if g.over_median_pct is not None else "above"
        o.line(
            f"straggler: {who} ({_label(g.by)} {_ms(g.value_us):.3f} ms, {over} the median "
            f"{_ms(g.median_us):.3f} ms; the threshold is {s.straggler_threshold_pct:g}%)"
        )
    elif len(a.ranks) > 1:
        o.line(
            f"no straggler: no rank's compute time is more than {s.straggler_threshold_pct:g}% over the "
            "median rank's"
        )
    focus = (
        a.ranks[0]
        if len(a.ranks) == 1
        else next(
            (
                e
                for e in a.ranks
                if s.straggler and e.file == s.straggler.file and e.device == s.straggler.device
            ),
            a.ranks[0],
        )
    )
    _detail(o, focus)


def captured(o: Output, run: CaptureRun, active: int) -> None:
    if run.traces:
        o.table(
            ["trace", "rank", "steps", "MB"],
            [(t.file, t.rank, t.steps, t.bytes / 1e6) for t in run.traces],
            title=f"traces in {run.out}",
            justify=["left", "right", "right", "right"],
        )
    else:
        o.warn("no traces: no process stepped an optimizer or called fireflyer.trace.step()")
    for t in run.traces:
        if t.steps < active:
            o.warn(f"{t.file} has {t.steps} of {active} steps: the job ended before its cycle did")
    for p in run.problems:
        o.warn(p)
    o.line(f"job exit code {run.exit_code} after {run.elapsed_s:.1f} s")
    if run.cycles:
        o.hint("next: " + _command("analyze", *run.cycles[0]))
    if len(run.cycles) > 1 and len(run.cycles[0]) == len(run.cycles[-1]) == 1:
        o.hint("next: " + _command("diff", run.cycles[0][0], run.cycles[-1][0]))


def _command(name: str, *paths: str) -> str:
    """`flyer trace NAME PATHS` as a shell reads it back (quoted; a path starting with '-' as ./path)."""
    return shlex.join(["flyer", "trace", name, *(f"./{p}" if p.startswith("-") else p for p in paths)])


def merged(o: Output, m: MergeResult) -> None:
    o.table(
        ["rank", "file", "events", "rows", "shift us"],
        [(r.rank, r.file, r.events, r.rows, r.shift_us) for r in m.ranks],
        title=f"merged into {m.out} (align: {m.align})",
        justify=["right", "left", "right", "right", "right"],
    )
    o.line(f"{m.events} events; open it in https://ui.perfetto.dev")


def diffed(o: Output, d: Comparison) -> None:
    unit = "per step" if d.per == "step" else "per rank"
    o.table(
        ["figure", "A ms", "B ms", "delta ms", "delta"],
        [(_label(t.metric), _ms(t.a), _ms(t.b), _ms(t.delta), fmt_pct(t.delta_pct)) for t in d.totals],
        title=f"totals {unit} (A: {d.a.ranks} rank(s), {d.a.steps} steps; B: {d.b.ranks}, {d.b.steps})",
    )
    what = "kernel" if d.what == "kernels" else "CPU op (self time)"
    o.table(
        [what, "kind", "A us", "B us", "delta us", "delta", "A count", "B count"],
        [
            (
                _name(r.name),
                r.kind,
                r.a_us,
                r.b_us,
                r.delta_us,
                fmt_pct(r.delta_pct) or "new",
                r.count_a,
                r.count_b,
            )
            for r in d.rows
        ],
        title=f"largest changes {unit}",
        justify=["left", "left", "right", "right", "right", "right", "right", "right"],
    )
    if d.only_in_a or d.only_in_b:
        o.line(f"{d.only_in_a} name(s) only in A, {d.only_in_b} only in B", style="dim")
