"""`flyer fs3`: 3FS operations. This branch holds `flyer fs3 bench`; the rest of the group joins at merge."""

from __future__ import annotations

import typer

from . import fs3_bench

app = typer.Typer(
    help="3FS (Fire-Flyer File System): benchmark a mount against the published figures.",
    no_args_is_help=True,
)
app.add_typer(fs3_bench.app, name="bench")
