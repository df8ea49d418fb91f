"""Option types shared by every command, so help texts never drift between groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
OutOpt = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", help="Write the result to this file (atomically: temp file, fsync, rename).",
                 dir_okay=False),
]
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="Hardware profile name (see `flyer profiles list`).")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Model profile name, e.g. deepseek-v3.")]
