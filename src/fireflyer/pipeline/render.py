"""Pictures of a simulated or measured timeline: a Chrome trace, an SVG that stays readable at any size,
and bands of labelled text for a terminal.

The SVG has three levels of detail, chosen by how many pixels an op gets: ``boxes`` (an outlined box per
op, labelled with its micro-batch where the label fits, every op named in its tooltip), ``runs`` (consecutive
ops of one kind merged into one box, no outlines, no labels) and ``pixels`` (one pixel column per slice of
time, coloured by the kind that fills most of it, embedded as a PNG). The terminal timeline gives every op
room for its label and splits time into bands that fit the terminal's width.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from .. import trace_events
from ..errors import InputError
from .schedules import FB, OP_KINDS, Schedule

# One colour per op kind, shared by the SVG and the terminal chart.
COLORS = {"F": "#4c9be8", "B": "#e8804c", "B-input": "#f2c14e", "W": "#8fbf5a", "F&B": "#a374d6"}
_CNAME = {
    "F": "thread_state_running",
    "B": "thread_state_iowait",
    "B-input": "yellow",
    "W": "olive",
    "F&B": "rail_animation",
}


def _spans(schedule: Schedule, start, end):
    """(rank, flat index, start, end) of every op, rank by rank."""
    for r in range(schedule.ranks):
        for i in range(int(schedule.rank_ptr[r]), int(schedule.rank_ptr[r + 1])):
            yield r, i, float(start[i]), float(end[i])


def measured_trace(result: Any) -> trace_events.TraceDocument:
    """The Chrome trace of a real run (`pipeline.run`'s result; times in seconds)."""
    meta = {"source": "measured", "backend": result.backend}
    return chrome_trace(
        result.schedule, result.measured_start, result.measured_end, us_per_unit=1e6, meta=meta
    )


def chrome_trace(
    schedule: Schedule, start, end, *, us_per_unit: float = 1000.0, meta: dict[str, Any] | None = None
) -> trace_events.TraceDocument:
    """A Chrome trace: one process per rank, one complete event per op, times in microseconds.

    ``us_per_unit`` converts the schedule's time unit (simulated units: 1 unit shown as 1 ms; measured
    seconds: 1e6).
    """
    events: list[trace_events.TraceEvent] = []
    for r in range(schedule.ranks):
        events += trace_events.process_name(r, f"rank {r}", sort_index=r)
    for r, i, s, e in _spans(schedule, start, end):
        kind = OP_KINDS[int(schedule.kind[i])]
        events.append(
            trace_events.complete(
                schedule.short(i),
                s * us_per_unit,
                (e - s) * us_per_unit,
                pid=r,
                cat=kind,
                cname=_CNAME[kind],
                args=schedule.label(i),
            )
        )
    return trace_events.TraceDocument(
        traceEvents=events,
        otherData={
            "schedule": schedule.name,
            "ranks": schedule.ranks,
            "microbatches": schedule.microbatches,
            **(meta or {}),
        },
    )


MAX_SVG_OPS = 50_000_000
"""The most ops the SVG draws (as pixels); beyond, the Chrome trace is the picture to use."""
BOXES_MIN_PX, BOXES_MAX_OPS, RUNS_MAX_RECTS = 3.0, 20_000, 40_000
_FONT_PX = 10
_CHAR_PX = 6.1  # width of one character at 10 px monospace


def nice_ticks(span: float, target: int = 8) -> list[float]:
    """Tick positions 0, d, 2d, ... up to ``span``, with d a 1, 2 or 5 times a power of ten."""
    if not span > 0:
        return [0.0]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [k * step for k in range(int(span / step + 1e-9) + 1)]


def _tick_label(v: float) -> str:
    return f"{v:.6g}"


def _rank_ops(schedule: Schedule, start, end, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = int(schedule.rank_ptr[r]), int(schedule.rank_ptr[r + 1])
    s, e, k = np.asarray(start[lo:hi], float), np.asarray(end[lo:hi], float), np.asarray(schedule.kind[lo:hi])
    order = np.argsort(s, kind="stable")
    return s[order], e[order], k[order]


def _run_starts(s: np.ndarray, e: np.ndarray, k: np.ndarray, min_gap: float) -> np.ndarray:
    """Which of a rank's sorted ops start a run: the first, and each one of another kind than the op before
    it or starting ``min_gap`` or more after that op ends."""
    starts = np.ones(len(s), dtype=bool)
    starts[1:] = (k[1:] != k[:-1]) | (s[1:] - e[:-1] >= min_gap)
    return starts


def _runs(s: np.ndarray, e: np.ndarray, k: np.ndarray, min_gap: float) -> list[tuple[float, float, int, int]]:
    """A rank's sorted ops merged into runs (``_run_starts``): (start, end, kind, count)."""
    if len(s) == 0:
        return []
    first = np.flatnonzero(_run_starts(s, e, k, min_gap))
    ends = np.maximum.reduceat(e, first)
    counts = np.diff(np.append(first, len(s)))
    return [(float(s[i]), float(b), int(k[i]), int(n)) for i, b, n in zip(first, ends, counts)]


def _png(pixels: np.ndarray, palette: list[tuple[int, int, int]]) -> bytes:
    """A palette PNG of ``pixels`` (rows of palette indices, uint8)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", b"".join(bytes(c) for c in palette))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _covered(ks: np.ndarray, ke: np.ndarray, cum: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Time covered before each ``t`` by sorted, non-overlapping ops [ks, ke) (``cum``: running totals)."""
    i = np.searchsorted(ks, t, side="right")  # ops starting at or before t
    j = np.maximum(i - 1, 0)
    partial = np.clip(t - ks[j], 0, (ke - ks)[j])
    return cum[j] + np.where(i > 0, partial, 0.0)


def _coverage(s: np.ndarray, e: np.ndarray, k: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time each kind covers in each slice between ``edges`` [kinds, slices], from non-overlapping ops."""
    out = np.zeros((len(OP_KINDS), len(edges) - 1))
    for kind in range(len(OP_KINDS)):
        m = k == kind
        if m.any():
            ks, ke = s[m], e[m]
            cum = np.concatenate([[0.0], np.cumsum(ke - ks)])
            out[kind] = np.diff(_covered(ks, ke, cum, edges))
    return out


@dataclass(frozen=True)
class SvgLayout:
    mode: str
    """boxes, runs or pixels."""
    width: int
    height: int
    row_h: int


def svg_layout(schedule: Schedule, start, end, width: int = 1200) -> SvgLayout:
    """Which level of detail an SVG of this timeline gets, and its size."""
    ops = len(schedule.kind)
    if ops > MAX_SVG_OPS:
        raise InputError(
            f"{ops} ops are too many to draw as an SVG (at most {MAX_SVG_OPS})",
            field="svg",
            hint="write --chrome-trace and open it in Perfetto",
        )
    plot_w = width - 90
    makespan = float(np.max(end)) if ops else 1.0
    per_rank = ops / max(schedule.ranks, 1)
    mode = (
        "boxes"
        if ops <= BOXES_MAX_OPS and plot_w / max(per_rank, 1) >= BOXES_MIN_PX and makespan > 0
        else None
    )
    if mode is None:
        min_gap = makespan / plot_w
        rects = 0
        for r in range(schedule.ranks):
            s, e, k = _rank_ops(schedule, start, end, r)
            rects += int(np.count_nonzero(_run_starts(s, e, k, min_gap)))
            if rects > RUNS_MAX_RECTS:
                break
        mode = "runs" if rects <= RUNS_MAX_RECTS else "pixels"
    row_h = 22 if mode == "boxes" else max(2, min(22, 900 // max(schedule.ranks, 1)))
    gap = 4 if row_h >= 10 else 0
    height = 40 + schedule.ranks * (row_h + gap) + 70
    return SvgLayout(mode, width, height, row_h)


def svg(
    schedule: Schedule, start, end, *, title: str = "", width: int = 1200, unit: str = "time units"
) -> str:
    """The timeline as a standalone SVG: a row per rank, ops coloured by kind, a time axis with ticks in
    ``unit`` and a legend. The level of detail follows the op density (see the module's docstring)."""
    lay = svg_layout(schedule, start, end, width)
    makespan = max(float(np.max(end)) if len(end) else 0.0, 1e-300)
    left, top, row_h = 80, 40, lay.row_h
    gap = 4 if row_h >= 10 else 0
    plot_w = width - left - 10
    sx = plot_w / makespan
    ranks = schedule.ranks
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{lay.height}" '
        f'viewBox="0 0 {width} {lay.height}" font-family="monospace" font-size="{_FONT_PX}">',
        f'<rect width="{width}" height="{lay.height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14">{escape(title)}</text>',
    ]
    label_every = max(1, math.ceil(12 / (row_h + gap)))
    for r in range(ranks):
        if r % label_every == 0 or (r == ranks - 1 and r % label_every >= label_every / 2):
            y = top + r * (row_h + gap) + row_h * 0.5 + 3.5
            out.append(f'<text x="{left - 8}" y="{y:.1f}" text-anchor="end">rank {r}</text>')
    if lay.mode == "boxes":
        out += _boxes(schedule, start, end, left, top, row_h, gap, sx)
    elif lay.mode == "runs":
        out += _run_rects(schedule, start, end, left, top, row_h, gap, sx, makespan / plot_w)
    else:
        out += _pixels(schedule, start, end, left, top, row_h, gap, plot_w, makespan)
    y_axis = top + ranks * (row_h + gap) + 4
    out.append(f'<line x1="{left}" y1="{y_axis}" x2="{left + plot_w}" y2="{y_axis}" stroke="black"/>')
    for t in nice_ticks(makespan):
        x = left + t * sx
        out.append(
            f'<line x1="{x:.2f}" y1="{y_axis}" x2="{x:.2f}" y2="{y_axis + 5}" stroke="black"/>'
            f'<text x="{x:.2f}" y="{y_axis + 16}" text-anchor="middle">{_tick_label(t)}</text>'
        )
    out.append(
        f'<text x="{left + plot_w}" y="{y_axis + 30}" text-anchor="end">time ({escape(unit)}); '
        f"makespan {_tick_label(makespan)}</text>"
    )
    lx, ly = left, y_axis + 46
    for kind, color in COLORS.items():
        out.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{color}" stroke="black" '
            f'stroke-width="0.5"/><text x="{lx + 16}" y="{ly}">{escape(kind)}</text>'
        )
        lx += 90
    note = {
        "boxes": "labels: micro-batch, where it fits; hover a box for its op",
        "runs": "consecutive ops of one kind drawn as one box; hover for the ops",
        "pixels": "each pixel column: the kind filling most of its time slice",
    }[lay.mode]
    out.append(f'<text x="{lx + 10}" y="{ly}" fill="#555">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _boxes(schedule, start, end, left, top, row_h, gap, sx) -> list[str]:
    out = []
    for r, i, s, e in _spans(schedule, start, end):
        kind = OP_KINDS[int(schedule.kind[i])]
        x, w, y = left + s * sx, (e - s) * sx, top + r * (row_h + gap)
        name = escape(schedule.short(i))
        # NOTE: black outlines only on boxes wide enough for one; on narrow boxes they darken the row.
        stroke = (
            ' stroke="black" stroke-width="0.5"'
            if w >= 6
            else (' stroke="white" stroke-width="0.4"' if w >= 2 else "")
        )
        out.append(
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row_h}" fill="{COLORS[kind]}"{stroke}>'
            f"<title>rank {r} {name} [{s:g}, {e:g}]</title></rect>"
        )
        label = schedule.tag(i)
        for size in (_FONT_PX, 8, 6.5):
            if w >= len(label) * _CHAR_PX * size / _FONT_PX + 2:
                out.append(
                    f'<text x="{x + w / 2:.2f}" y="{y + row_h * 0.5 + size * 0.35:.1f}" font-size="{size}" '
                    f'text-anchor="middle">{escape(label)}</text>'
                )
                break
    return out


def _run_rects(schedule, start, end, left, top, row_h, gap, sx, min_gap) -> list[str]:
    out = []
    for r in range(schedule.ranks):
        s, e, k = _rank_ops(schedule, start, end, r)
        y = top + r * (row_h + gap)
        for a, b, kind, n in _runs(s, e, k, min_gap):
            out.append(
                f'<rect x="{left + a * sx:.2f}" y="{y}" width="{max((b - a) * sx, 0.3):.2f}" '
                f'height="{row_h}" '
                f'fill="{COLORS[OP_KINDS[kind]]}"><title>rank {r}: {n} x {escape(OP_KINDS[kind])} '
                f"[{a:g}, {b:g}]"
                f"</title></rect>"
            )
    return out


def _pixels(schedule, start, end, left, top, row_h, gap, plot_w, makespan) -> list[str]:
    palette = [(255, 255, 255)] + [
        (int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)) for c in COLORS.values()
    ]
    edges = np.linspace(0.0, makespan, plot_w + 1)
    img = np.zeros((schedule.ranks * (row_h + gap), plot_w), np.uint8)
    for r in range(schedule.ranks):
        cov = _coverage(*_rank_ops(schedule, start, end, r), edges)
        idle = np.diff(edges) - cov.sum(axis=0)
        row = np.where(cov.max(axis=0) >= idle, cov.argmax(axis=0) + 1, 0).astype(np.uint8)
        img[r * (row_h + gap) : r * (row_h + gap) + row_h] = row
    data = base64.b64encode(_png(img, palette)).decode()
    return [
        f'<image x="{left}" y="{top}" width="{plot_w}" height="{img.shape[0]}" preserveAspectRatio="none" '
        f'style="image-rendering:pixelated" href="data:image/png;base64,{data}"/>'
    ]


@dataclass(frozen=True)
class Band:
    """One slice of a terminal timeline: its time range and, per rank, runs of (text, kind or None)."""

    t0: float
    t1: float
    rows: list[list[tuple[str, str | None]]]


def timeline_bands(schedule: Schedule, start, end, width: int, *, max_bands: int = 12) -> list[Band]:
    """The timeline as bands of ``width`` columns: every op gets at least its label plus a separator
    (``F3``, ``b3`` for B-input, ``W3``, ``B3``, ``F3&B1``; DualPipe's second direction ``3'``, a chunk
    ``3.1``),
    idle time shows as dots, so it reads without colour. InputError when it needs more than ``max_bands``."""
    n = len(schedule.kind)
    dur = np.asarray(end, float) - np.asarray(start, float)
    makespan = float(np.max(end)) if n else 0.0

    def fits(cols_per_unit: float, at_least: str = "") -> tuple[int, int, int]:
        total = math.ceil(makespan * cols_per_unit)
        bands = max(1, math.ceil(total / max(width, 10)))
        if bands > max_bands:
            raise InputError(
                f"the timeline needs {at_least}{total} columns ({bands} bands of {math.ceil(total / bands)}) "
                "to label every op",
                field="timeline",
                hint="use --svg or --chrome-trace, or widen the terminal (COLUMNS=...)",
            )
        return total, bands, math.ceil(total / bands)  # NOTE: equal bands, so the last is not a sliver

    # NOTE: refuse before labelling millions of ops: every label and its separator take 3 columns or more
    positive = dur[dur > 0]
    if positive.size:
        fits(3 / float(positive.min()), "at least ")
    labels = [_label(schedule, i) for i in range(n)]
    need = [(len(labels[i]) + 1) / dur[i] for i in range(n) if dur[i] > 0]
    cols_per_unit = max(need, default=1.0) * (1 + 1e-9)
    total, bands, width = fits(cols_per_unit)
    grid: list[list[tuple[str, str | None]]] = []
    for r in range(schedule.ranks):
        cells: list[tuple[str, str | None]] = [("·", None)] * total
        for i in range(int(schedule.rank_ptr[r]), int(schedule.rank_ptr[r + 1])):
            a, z = round(float(start[i]) * cols_per_unit), min(total, round(float(end[i]) * cols_per_unit))
            if z <= a:
                continue
            kind = OP_KINDS[int(schedule.kind[i])]
            text = ("│" + labels[i]).ljust(z - a)[: z - a]
            for c in range(a, z):
                cells[c] = (text[c - a], kind)
            # An op running into the next band: its label again, or a mark that it goes on.
            for cut in range((a // width + 1) * width, z, width):
                label = labels[i] if len(labels[i]) < z - cut else "…"
                text = ("│" + label).ljust(z - cut)[: z - cut]
                for c in range(cut, z):
                    cells[c] = (text[c - cut], kind)
        grid.append(cells)
    out = []
    for b in range(bands):
        lo, hi = b * width, min(total, (b + 1) * width)
        rows = []
        for cells in grid:
            runs: list[tuple[str, str | None]] = []
            for ch, cell_kind in cells[lo:hi]:
                if runs and runs[-1][1] == cell_kind and ch != "│":
                    runs[-1] = (runs[-1][0] + ch, cell_kind)
                else:
                    runs.append((ch, cell_kind))
            rows.append(runs)
        out.append(Band(lo / cols_per_unit, hi / cols_per_unit, rows))
    return out


_LETTER = {"F": "F", "B": "B", "B-input": "b", "W": "W"}


def _label(schedule: Schedule, i: int) -> str:
    k = int(schedule.kind[i])
    if k == FB:
        return schedule.short(i)
    return _LETTER[OP_KINDS[k]] + schedule.tag(i)
