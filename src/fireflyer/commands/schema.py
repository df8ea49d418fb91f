"""`flyer schema`: the JSON Schema of each command's --json document.

Every group's command module (``fireflyer.commands.<group>``) maps each command, as typed after the group's
name, to the record its --json prints: ``RESULTS = {"plan": Plan, "plan chains": ChainTable}``. Only that
module is imported; the schema is ``msgspec.json.schema`` of the record.
"""

# NOTE: no `from __future__ import annotations`: the help of each command names its group when defined.
import importlib
from typing import Annotated

import msgspec
import typer

from ..errors import InputError
from ._options import JsonOpt
from ._output import Output

app = typer.Typer(
    help="The JSON Schema of a command's --json document: flyer schema GROUP COMMAND.", no_args_is_help=True
)


def results(group: str, module: str) -> dict[str, type]:
    """The group's RESULTS: its commands with a documented --json, and the record each prints."""
    found = getattr(importlib.import_module(f"fireflyer.commands.{module}"), "RESULTS", None)
    if not found:
        raise InputError(f"flyer {group} documents no --json schema yet", field="GROUP")
    return found


def schema_of(group: str, module: str, command: str) -> dict:
    """The JSON Schema of ``flyer GROUP COMMAND --json``; exit 2 naming the commands that have one."""
    known = results(group, module)
    if command not in known:
        raise InputError(
            f"flyer {group} has no command {command!r} with a --json schema",
            field="COMMAND",
            hint=f"one of: {', '.join(sorted(known))}",
        )
    return msgspec.json.schema(known[command])


def _command(group: str, module: str) -> None:
    def show(
        command: Annotated[
            list[str] | None,
            typer.Argument(metavar="COMMAND...", help=f"A command of flyer {group}, as typed after it."),
        ] = None,
        json: JsonOpt = False,
    ) -> None:
        out = Output(json)
        single = list(results(group, module)) == [""]  # a group that is one command (flyer report)
        if command or single:  # the schema is a JSON document, with or without --json
            Output(True).emit(schema_of(group, module, " ".join(command or [])))
            return
        names = sorted(results(group, module))

        def listing(o: Output) -> None:
            for n in names:
                o.line(f"flyer {group} {n}")

        out.emit(names, listing)

    show.__doc__ = (
        f"The JSON Schema of `flyer {group} COMMAND --json`; with no COMMAND, the commands that have one.\n\n"
        f"Examples:\n  flyer schema {group}\n  flyer schema {group} COMMAND..."
    )
    app.command(group)(show)


def _register() -> None:
    from ..cli import GROUPS  # NOTE: imported here: cli imports this module only when `schema` runs

    for g in GROUPS:
        if g.name != "schema":
            _command(g.name, g.module)


_register()
