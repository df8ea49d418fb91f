"""The root `flyer` command: wires the groups together and is the single error boundary."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Annotated

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from . import __version__
from .errors import FireflyerError

EXIT_INTERNAL = 3

# (group name, module under fireflyer.commands). Only groups with working commands are listed.
GROUPS = [
    ("profiles", "profiles"),
    ("eplb", "eplb"),
    ("pipeline", "pipeline"),
]


def _debug() -> bool:
    return os.environ.get("FLYER_DEBUG", "") not in ("", "0", "false", "no")


class FlyerGroup(TyperGroup):
    """Turns library errors into one line on stderr and an exit code (0 ok, 1 check failed, 2 bad input)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort):  # usage errors (exit 2) and deliberate exits
            raise
        except FireflyerError as e:
            if _debug():
                traceback.print_exc()
            typer.echo(f"flyer: error: {e.one_line()}", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("flyer: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as e:  # a bug: say so in one line, traceback on request
            if _debug():
                traceback.print_exc()
            typer.echo(f"flyer: internal error: {type(e).__name__}: {e} "
                       "(rerun with --debug or FLYER_DEBUG=1 for a traceback, and report it)", err=True)
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=FlyerGroup,
    name="flyer",
    help="Operations suite for DeepSeek's open MoE infrastructure.\n\n"
    "Exit codes: 0 success, 1 a requested check failed, 2 bad usage or bad input.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flyer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool | None, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors (same as FLYER_DEBUG=1).")] = False,
) -> None:
    """Operations suite for DeepSeek's open MoE infrastructure."""
    if debug:
        os.environ["FLYER_DEBUG"] = "1"


for _name, _module in GROUPS:
    app.add_typer(importlib.import_module(f".commands.{_module}", __package__).app, name=_name)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # `flyer ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
