"""How `flyer kernels` results look on a terminal: the backend catalogue, result tables, comparisons."""

from __future__ import annotations

import textwrap
from typing import Any

from ... import kernels as lib
from .._output import Output, fmt, fmt_pct


def catalog(o: Output, found: lib.Catalog) -> None:
    o.table(
        ["op", "backend", "runs here", "version", "why not"],
        [
            (
                r.op,
                r.backend,
                r.available,
                (f"{r.version} ({r.distribution}{', unofficial' if r.unofficial else ''})")
                if r.version
                else None,
                r.reason,
            )
            for r in found.backends
        ],
        title=f"kernel backends on {found.device}",
        justify=["left", "left", "left", "left", "left"],
    )


BENCH_COLUMNS = [
    "op",
    "backend",
    "shape",
    "median µs",
    "p20-p80 µs",
    "TFLOP/s",
    "GB/s",
    "% FLOPs",
    "% BW",
    "correct",
]


def _us(v: float | None) -> str | None:
    """Microseconds without exponents: 158,400 / 613.8 / 4.21."""
    if v is None:
        return None
    return f"{v:,.0f}" if v >= 1000 else f"{v:.4g}"


def _short(v: float) -> str:
    """Microseconds in at most 7 characters: 613.8 / 41,038 / 137.8k / 12,345k."""
    if v < 100_000:
        return _us(v) or "-"
    return f"{v / 1000:.4g}k" if v < 1e6 else f"{v / 1000:,.0f}k"


def _span(lo: float | None, hi: float | None) -> str | None:
    """p20-p80 as one short word (``485.2-145.2k``)."""
    if lo is None or hi is None:
        return None
    return f"{_short(lo)}-{_short(hi)}"


def _width(columns: list[str], rows: list[tuple]) -> int:
    """Characters a table of these cells takes (one space each side of a column; see Output.table)."""
    cells = [[fmt(v) for v in r] for r in rows]
    return sum(max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)) + 2 * len(columns)


def _fit(
    o: Output,
    columns: list[str],
    rows: list[tuple],
    justify: list[str],
    shapes: list[str],
    optional: list[str],
) -> tuple[list[str], list[tuple], list[str], list[str], list[str]]:
    """Fit a table whose third column is a case's shape to the terminal, each cell whole: first the shapes
    become case numbers listed once below the table, then ``optional`` columns go, named in a footnote.
    Returns the columns, rows, justification, legend lines and footnotes to print."""
    width = o.console.width
    if _width(columns, rows) <= width:
        return columns, rows, justify, [], []
    numbers = {s: i + 1 for i, s in enumerate(dict.fromkeys(shapes))}
    rows = [(*r[:2], f"#{numbers[s]}", *r[3:]) for r, s in zip(rows, shapes)]
    columns = [*columns[:2], "case", *columns[3:]]
    legend = [f"#{n}  {s}" for s, n in numbers.items()]
    dropped = []
    for name in optional:
        if _width(columns, rows) <= width:
            break
        i = columns.index(name)
        columns, justify = columns[:i] + columns[i + 1 :], justify[:i] + justify[i + 1 :]
        rows = [r[:i] + r[i + 1 :] for r in rows]
        dropped.append(name)
    notes = [f"{' and '.join(dropped)}: in --json, or on a wider terminal"] if dropped else []
    return columns, rows, justify, legend, notes


SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _footnotes(texts: list[str | None]) -> tuple[list[str], list[str]]:
    """Each distinct text numbered once: (a superscript marker per text, ``n text`` lines to print once)."""
    numbers: dict[str, int] = {}
    marks = []
    for t in texts:
        if t:
            numbers.setdefault(t, len(numbers) + 1)
        marks.append(str(numbers[t]).translate(SUPERSCRIPT) if t else "")
    return marks, [f"{str(n).translate(SUPERSCRIPT)} {t}" for t, n in numbers.items()]


def _lines(o: Output, lines: list[str]) -> None:
    """Legend and footnote lines, each wrapped at words to the terminal (continuations indented)."""
    for line in lines:
        for part in textwrap.wrap(line, o.console.width, subsequent_indent="    ", break_long_words=False):
            o.line(part)


def _label(op: str, shape: dict[str, Any]) -> str:
    return f"{op} {lib.shape_label(op, shape)}"


def bench(o: Output, report: lib.Report) -> None:
    env = report.env
    o.line(
        f"{report.suite['name']} suite on {env['device_described']}; torch {env['torch']}"
        + (f", CUDA {env['cuda']}, driver {env['driver']}" if env.get("cuda") else "")
    )
    roof = report.roof
    if roof:
        peaks = ", ".join(f"{k} {v:g}" for k, v in roof["peak_tflops"].items())
        o.line(f"roof: {roof['profile']}: {peaks} TFLOP/s, memory {roof['memory_gbps']:g} GB/s", style="dim")
    entries: list[tuple[str, dict[str, Any], str, lib.Result | lib.Skipped]] = [
        (r.op, r.shape, r.backend, r) for r in report.results
    ]
    entries += [(s.op, s.shape, s.backend, s) for s in report.skipped if s.shape]
    order = {k: i for i, k in enumerate(dict.fromkeys(_label(op, sh) for op, sh, _, _ in entries))}
    entries.sort(key=lambda e: (order[_label(e[0], e[1])], lib.BACKENDS[e[0]].index(e[2])))
    marks, reasons = _footnotes([e[3].reason if isinstance(e[3], lib.Skipped) else None for e in entries])
    rows: list[tuple[Any, ...]] = []
    for (op, shape, backend, r), mark in zip(entries, marks):
        if isinstance(r, lib.Skipped):
            rows.append((op, backend, lib.shape_label(op, shape), *[None] * 6, f"unsupported{mark}"))
            continue
        rows.append(
            (
                op,
                backend,
                lib.shape_label(op, shape),
                _us(r.median_us),
                _span(r.p20_us, r.p80_us),
                r.tflops,
                r.gbps,
                fmt_pct(r.pct_peak_flops),
                fmt_pct(r.pct_peak_bw),
                r.correct,
            )
        )
    columns, rows, justify, legend, notes = _fit(
        o,
        BENCH_COLUMNS,
        rows,
        ["left", "left", "left", "right", "right", "right", "right", "right", "right", "left"],
        [lib.shape_label(op, shape) for op, shape, _, _ in entries],
        ["TFLOP/s", "GB/s"],
    )
    o.table(columns, rows, justify=justify, keys=2)
    _lines(o, [*legend, *notes, *(f"unsupported{r}" for r in reasons)])
    for s in report.skipped:
        if not s.shape:
            o.hint(f"skipped {s.op} {s.backend}: {s.reason}")
    for n in report.notes:
        o.hint(n)


def compared(o: Output, data: lib.CompareReport) -> None:
    marks, notes = _footnotes([r.note for r in data.rows])
    columns, rows, justify, legend, dropped = _fit(
        o,
        ["op", "backend", "shape", "baseline µs", "current µs", "change", "status"],
        [
            (
                r.op,
                r.backend,
                lib.shape_label(r.op, r.shape),
                _us(r.baseline_us),
                _us(r.current_us),
                None if r.change_pct is None else f"{r.change_pct:+.1f}%",
                r.status + mark,
            )
            for r, mark in zip(data.rows, marks)
        ],
        ["left", "left", "left", "right", "right", "right", "left"],
        [lib.shape_label(r.op, r.shape) for r in data.rows],
        [],
    )
    o.table(columns, rows, justify=justify, title=f"threshold {data.threshold_pct:g}%", keys=2)
    _lines(o, [*legend, *dropped, *notes])
    counts = ", ".join(f"{v} {k}" for k, v in data.counts.items())
    o.line(counts or "nothing to compare")
    for n in data.notes:
        o.hint(n)
