"""Option types shared by every command, so help texts never drift between groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write the result to this file (atomically: temp file, fsync, rename).",
                 dir_okay=False),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Hardware profile name (see `flyer profiles list`).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model profile name, e.g. deepseek-v3.")]
