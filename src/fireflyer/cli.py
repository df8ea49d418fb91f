"""The root `flyer` command: wires the groups together, lazily, and is the single error boundary.

A group's module (``fireflyer.commands.<group>``) is imported only when that group runs or shows its own
help, so ``flyer --help`` and ``import fireflyer.cli`` cost little more than importing Typer.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from typer import _click as click
from typer.core import TyperGroup

from . import __version__
from .errors import FireflyerError

EXIT_INTERNAL = 3
HELP_OPTIONS = ["-h", "--help"]
EXIT_CODES = (
    "Exit codes: 0 success; 1 a check you asked for failed; 2 bad usage or bad input; "
    "3 an internal error (a bug: rerun with --debug and report it); 75 another run holds a lock."
)


@dataclass(frozen=True)
class Group:
    name: str
    module: str  # under fireflyer.commands
    help: str


# The groups `flyer` has, in the order `flyer --help` lists them. Only groups with working commands.
GROUPS = (
    Group(
        "profiles",
        "profiles",
        "Hardware, model and deployment profiles, and the measured profile of this machine.",
    ),
    Group(
        "eplb",
        "eplb",
        "Expert-parallel load-balancing plans: DeepSeek parity, better balance, migration-aware rebalancing.",
    ),
    Group(
        "pipeline",
        "pipeline",
        "Pipeline-parallel schedules (DualPipe, DualPipeV, 1F1B, ZB1P, ZB-V, ...): "
        "simulate, compare, sweep, measure, run.",
    ),
    Group(
        "trace",
        "trace",
        "Profiler traces: capture any job on every rank, compute/communication overlap, merge, diff.",
    ),
    Group(
        "kernels",
        "kernels",
        "Benchmark MLA decoding, FP8 GEMM and MoE dispatch/combine: correctness, rooflines, CI gates.",
    ),
    Group(
        "inference",
        "inference",
        "Serving DeepSeek-V3/R1: cost and margin of a day, roofline throughput per node, nodes per hour.",
    ),
    Group(
        "fs3",
        "fs3",
        "3FS clusters: balanced chain tables, rendered configs, preflight checks, SSH deploy, status.",
    ),
    Group("report", "report", "One self-contained HTML page of results: charts, key tables, the commands."),
    Group("schema", "schema", "The JSON Schema of a command's --json document: flyer schema GROUP COMMAND."),
)


def _bare_flags(cmd) -> None:
    """Flags take no value: show none in help (Typer would print ``<bool>``), --help included."""
    helper = cmd.get_help_option(SimpleNamespace(help_option_names=HELP_OPTIONS))
    for p in [*getattr(cmd, "params", ()), *([helper] if helper is not None else [])]:
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""
    for sub in getattr(cmd, "commands", {}).values():
        _bare_flags(sub)


def _debug() -> bool:
    return os.environ.get("FLYER_DEBUG", "") not in ("", "0", "false", "no")


class FlyerGroup(TyperGroup):
    """Loads groups on first use and turns library errors into one line on stderr and an exit code."""

    _listing = False

    def list_commands(self, ctx):
        return [g.name for g in GROUPS]

    def get_command(self, ctx, cmd_name):
        group = next((g for g in GROUPS if g.name == cmd_name), None)
        if group is None:
            return None
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if self._listing:  # `flyer --help` lists groups by their help line, without importing them
            return TyperGroup(name=group.name, help=group.help, short_help=group.help)
        module = importlib.import_module(f"fireflyer.commands.{group.module}")
        cmd = typer.main.get_command(module.app)
        cmd.name = group.name
        # NOTE: a group built on its own gets Typer's shell-completion options; only the root may have them.
        cmd.params = [p for p in cmd.params if p.name not in ("install_completion", "show_completion")]
        _bare_flags(cmd)
        self.commands[cmd_name] = cmd
        return cmd

    def format_help(self, ctx, formatter):
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Runs `flyer`; usage errors become one line on stderr with the command's usage (exit 2)."""
        _bare_flags(self)
        args = list(sys.argv[1:] if args is None else args)
        try:
            with warnings.catch_warnings():
                # Third-party warnings (a dependency's deprecation notice, for any version pip resolves) are
                # not ours to show the user: one line on stderr stays one line. --debug shows them.
                if not (_debug() or "--debug" in args):
                    warnings.simplefilter("ignore")
                code = super().main(
                    args=args,
                    prog_name=prog_name or "flyer",
                    complete_var=complete_var,
                    standalone_mode=False,
                    windows_expand_args=windows_expand_args,
                    **extra,
                )
        except click.exceptions.UsageError as e:
            typer.echo(_usage_line(e), err=True)
            code = e.exit_code
        except click.exceptions.ClickException as e:
            typer.echo(f"flyer: error: {e.format_message()}", err=True)
            code = e.exit_code
        except typer.Abort:
            typer.echo("flyer: interrupted", err=True)
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, typer.Exit, typer.Abort):
            raise
        except FireflyerError as e:
            if _debug():
                traceback.print_exc()
            typer.echo(f"flyer: error: {e.one_line()}", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("flyer: interrupted", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `flyer ... | head`: the reader left; click would exit 1 on EPIPE
            raise typer.Exit(0) from None
        except OSError as e:
            # What the system refused (a path that cannot be opened or created, a program that cannot be
            # started, a full disk) is the input's or the machine's, not a bug: exit 2 naming the path.
            if _debug():
                traceback.print_exc()
            typer.echo(f"flyer: error: {_os_error_line(e)}", err=True)
            raise typer.Exit(2) from None
        except Exception as e:  # a bug: say so in one line, traceback on request
            if _debug():
                traceback.print_exc()
            typer.echo(
                f"flyer: internal error: {type(e).__name__}: {e} "
                "(rerun with --debug or FLYER_DEBUG=1 for a traceback, and report it)",
                err=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=FlyerGroup,
    name="flyer",
    help=f"Operations suite for DeepSeek's open MoE infrastructure.\n\n{EXIT_CODES}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": HELP_OPTIONS},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flyer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors (same as FLYER_DEBUG=1).")
    ] = False,
) -> None:
    """Operations suite for DeepSeek's open MoE infrastructure."""
    if debug:
        os.environ["FLYER_DEBUG"] = "1"


def _os_error_line(e: OSError) -> str:
    what = e.strerror or str(e) or type(e).__name__
    files = [os.fspath(f) for f in (e.filename, e.filename2) if f is not None]
    return f"{' -> '.join(map(str, files))}: {what}" if files else what


def _usage_line(e: click.exceptions.UsageError) -> str:
    ctx = e.ctx
    where = (
        f" (usage: {ctx.command_path} {' '.join(ctx.command.collect_usage_pieces(ctx))}; "
        f"see '{ctx.command_path} --help')"
        if ctx is not None
        else ""
    )
    return f"flyer: error: {e.format_message()}{where}"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs `flyer` and exits with its code."""
    try:
        code = app(args=argv, standalone_mode=False)
        sys.stdout.flush()
    except BrokenPipeError:  # `flyer ... | head`: the reader left; not an error of ours
        code = 0
    # NOTE: stdout may be a closed pipe: point it at /dev/null so the interpreter's final flush cannot fail.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
