"""`flyer report`: one self-contained HTML page of several results (a CI artifact)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import report as lib
from ..io import check_outputs
from ._options import JsonOpt
from ._output import Output
from .views import report as view

app = typer.Typer(help="One self-contained HTML page of results: charts, key tables, the commands.")

RESULTS: dict[str, type] = {"": lib.ReportWritten}
"""The record `flyer report --json` prints (`flyer schema report`); the group is its one command."""


@app.command()
def report(
    results: Annotated[
        list[Path],
        typer.Argument(
            metavar="RESULT.json...",
            help="Documents flyer commands printed with --json, in the page's order.",
            show_default=False,
            dir_okay=False,
        ),
    ],
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="FILE", dir_okay=False, help="The page (HTML).", show_default=False
        ),
    ],
    title: Annotated[str, typer.Option("--title", help="The page's heading.")] = "flyer report",
    json: JsonOpt = False,
) -> None:
    """One HTML page from the --json documents of any flyer commands (each recognised by its record): per
    document its chart, its key table and the command that made it. Self-contained: no network, no
    external fonts or scripts; the same documents give the same bytes. Exit 2 naming a file that is no
    command's document.

    Examples:
      flyer report analysis.json compare.json --out report.html
      flyer report results/*.json -o ci-report.html --title "nightly, $(date +%F)"
      flyer report plan.json -o plan.html --json
    """
    out = Output(json)
    check_outputs([out_file], results)
    known = view.candidates()
    sections = [view.section(path, *lib.recognise(path, known)) for path in results]
    written = lib.write(out_file, sections, title=title)
    out.emit(written, lambda o: view.written(o, written))
