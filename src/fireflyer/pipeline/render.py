"""Pictures of a simulated or measured timeline: Chrome trace JSON, SVG, and text rows for a terminal
Gantt."""

from __future__ import annotations

from html import escape
from typing import Any

from .. import trace_events
from .schedules import KINDS, Schedule

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
        kind = KINDS[int(schedule.kind[i])]
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


def svg(schedule: Schedule, start, end, *, title: str = "", width: int = 1200) -> str:
    """The timeline as a standalone SVG: a row per rank, a box per op coloured by kind, labelled when wide
    enough."""
    makespan = max((float(x) for x in end), default=0.0) or 1.0
    left, top, row_h, gap = 70, 40, 22, 4
    plot_w = width - left - 20
    height = top + schedule.ranks * (row_h + gap) + 50
    sx = plot_w / makespan
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="10">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14">{escape(title)}</text>',
    ]
    for r in range(schedule.ranks):
        y = top + r * (row_h + gap)
        out.append(f'<text x="{left - 8}" y="{y + row_h * 0.7:.1f}" text-anchor="end">rank {r}</text>')
    for r, i, s, e in _spans(schedule, start, end):
        kind = KINDS[int(schedule.kind[i])]
        x, w, y = left + s * sx, (e - s) * sx, top + r * (row_h + gap)
        label = escape(schedule.short(i))
        out.append(
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row_h}" fill="{COLORS[kind]}" '
            f'stroke="black" stroke-width="0.5"><title>rank {r} {label} [{s:g}, {e:g}]</title></rect>'
        )
        if w >= 6 * len(label) + 2:
            out.append(
                f'<text x="{x + w / 2:.2f}" y="{y + row_h * 0.7:.1f}" text-anchor="middle">{label}</text>'
            )
    y_axis = top + schedule.ranks * (row_h + gap) + 14
    out.append(f'<line x1="{left}" y1="{y_axis - 8}" x2="{left + plot_w}" y2="{y_axis - 8}" stroke="black"/>')
    out.append(f'<text x="{left}" y="{y_axis + 4}">0</text>')
    out.append(f'<text x="{left + plot_w}" y="{y_axis + 4}" text-anchor="end">{makespan:g}</text>')
    lx = left
    for kind, color in COLORS.items():
        out.append(
            f'<rect x="{lx}" y="{y_axis + 14}" width="12" height="12" fill="{color}" stroke="black" '
            f'stroke-width="0.5"/><text x="{lx + 16}" y="{y_axis + 24}">{escape(kind)}</text>'
        )
        lx += 90
    out.append("</svg>")
    return "\n".join(out) + "\n"


def timeline_rows(schedule: Schedule, start, end, width: int) -> list[list[tuple[str, str | None]]]:
    """Per rank, runs of (text, kind or None for idle) that fill `width` columns: a text Gantt chart."""
    makespan = max((float(x) for x in end), default=0.0) or 1.0
    rows = []
    for r in range(schedule.ranks):
        cells: list[tuple[str, str | None]] = [(" ", None)] * width
        for _, i, s, e in (sp for sp in _spans(schedule, start, end) if sp[0] == r):
            a = round(s / makespan * width)
            z = max(a + 1, round(e / makespan * width)) if e > s else a
            z = min(z, width)
            kind = KINDS[int(schedule.kind[i])]
            label = schedule.tag(i)
            text = (label[: z - a]).center(z - a) if z - a >= len(label) else label[: z - a]
            text = text.ljust(z - a)
            for c in range(a, z):
                cells[c] = (text[c - a], kind)
        runs: list[tuple[str, str | None]] = []
        for ch, kind in cells:
            if runs and runs[-1][1] == kind:
                runs[-1] = (runs[-1][0] + ch, kind)
            else:
                runs.append((ch, kind))
        rows.append(runs)
    return rows
