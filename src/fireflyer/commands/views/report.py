"""What `flyer report` puts in each section: the group's picture (its ``<group>_plot.PLOTS``), its key table
(``TABLES`` there, else the record's top-level figures), and the terminal lines of the page written."""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from typing import Any

import msgspec

from ...report import Candidate, ReportWritten, Section, Table
from ...report.page import made_by
from .._output import Output, fmt

MAX_ROWS = 12
MAX_COLUMNS = 7


def candidates() -> list[Candidate]:
    """Every command with a --json record, in `flyer --help`'s order (each group's ``RESULTS``)."""
    from ...cli import GROUPS  # NOTE: imported here: cli imports command modules only when they run

    out = []
    for g in GROUPS:
        results = getattr(importlib.import_module(f"fireflyer.commands.{g.module}"), "RESULTS", None) or {}
        out += [Candidate(g.name, command, t) for command, t in results.items()]
    return out


def _plots(group: str) -> Any:
    name = f"fireflyer.commands.views.{group}_plot"
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def generic_table(record: Any) -> Table:
    """The record's figures: its scalar fields (and those one level down) as rows of field and value; a
    list of records as a row per item (the first ``MAX_ROWS``) of its first ``MAX_COLUMNS`` scalar fields."""
    doc = msgspec.to_builtins(record)
    if isinstance(doc, list):
        items = [d for d in doc if isinstance(d, dict)]
        cols = [k for k, v in (items[0].items() if items else ()) if _scalar(v)][:MAX_COLUMNS]
        return Table(columns=cols, rows=[[fmt(d.get(c)) for c in cols] for d in items[:MAX_ROWS]])
    rows = []
    for k, v in doc.items() if isinstance(doc, dict) else ():
        if _scalar(v):
            rows.append([k, fmt(v)])
        elif isinstance(v, dict):
            rows += [[f"{k}.{k2}", fmt(v2)] for k2, v2 in v.items() if _scalar(v2)]
    return Table(columns=["field", "value"], rows=rows[:MAX_ROWS])


def section(path: str | os.PathLike, found: Sequence[Candidate], record: Any) -> Section:
    """The section of one recognised document: its chart, when the command has a picture."""
    from . import plotting

    first = found[0]
    module = _plots(first.group)
    draw = getattr(module, "PLOTS", {}).get(first.command) if module else None
    tabulate = getattr(module, "TABLES", {}).get(first.command) if module else None
    if tabulate is not None:
        columns, rows = tabulate(record)
        table = Table(columns=list(columns), rows=[list(r) for r in rows])
    else:
        table = generic_table(record)
    return Section(
        file=os.fspath(path),
        command=made_by(record, found),
        svg=plotting.to_svg(draw(record)) if draw is not None else None,
        table=table,
        note=None if draw is not None else "this command has no picture",
    )


def written(o: Output, w: ReportWritten) -> None:
    o.table(
        ["result", "command", "chart"],
        [(e.file, e.command, e.chart) for e in w.sections],
        title=f"{w.out}: {len(w.sections)} section(s), {w.bytes:,} bytes",
    )
