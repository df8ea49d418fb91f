"""`flyer profiles`: hardware, model and deployment profiles, and the measured profile of this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import profiles as lib
from ..errors import CheckFailed
from ..io import atomic_write
from ._options import JsonOpt, OutOpt, integer, number
from ._output import Output
from .views import profiles as view

app = typer.Typer(
    help="Hardware, model and deployment profiles, and the measured profile of this machine.",
    no_args_is_help=True,
)

RESULTS: dict[str, type] = {
    "list": list[lib.Listed],
    "show": lib.Shown,
    "validate": lib.Validation,
    "detect": lib.HardwareProfile,
}
"""The record each command prints with --json (`flyer schema profiles COMMAND`)."""


@app.command("list")
def list_(
    kind: Annotated[lib.ProfileKind | None, typer.Option("--kind", help="Only this kind.")] = None,
    json: JsonOpt = False,
) -> None:
    """List every profile: shipped ones and the user's (FLYER_PROFILES, ~/.config/fireflyer/profiles).

    Examples:
      flyer profiles list
      flyer profiles list --kind hardware --json
    """
    out = Output(json)
    rows, problems = lib.listing(kind)
    for p in problems:
        out.warn(f"skipped invalid profile {p.one_line()}")
    out.emit(rows, lambda o: view.catalog(o, rows))


@app.command()
def show(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Profile name or alias, e.g. h800-sxm, deepseek-r1.")
    ],
    json: JsonOpt = False,
) -> None:
    """Show one profile and the file it came from.

    Examples:
      flyer profiles show h800-sxm
      flyer profiles show deepseek-v3 --json
    """
    out = Output(json)
    found = lib.shown(name)
    out.emit(found, lambda o: view.show(o, found, lib.to_yaml(found.profile)))


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Profile YAML files to check.")],
    json: JsonOpt = False,
) -> None:
    """Validate profile files against the schema; exit 2 naming the file and field of the first error.

    Examples:
      flyer profiles validate ~/.config/fireflyer/profiles/this-host.yaml
      flyer profiles validate ~/.config/fireflyer/profiles/*.yaml --json
    """
    out = Output(json)
    checked = lib.validate(files, keep_going=json)
    out.emit(checked, lambda o: view.validated(o, checked))
    if not checked.ok:
        raise typer.Exit(2)


@app.command()
def detect(
    quick: Annotated[
        bool, typer.Option("--quick", help="About 1 s instead of about 3 s; less accurate.")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            parser=integer,
            metavar="N",
            help="Threads to use (default: every core this process may run on; at most that many).",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Profile name to give the result (default: HOSTNAME-cpu).")
    ] = None,
    out_file: OutOpt = None,
    min_gbps: Annotated[
        float | None,
        typer.Option(
            "--min-gbps",
            parser=number(low=0),
            metavar="GB/S",
            help="Exit 1 if measured bandwidth is below this.",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Measure this machine: CPU, cores, memory, GPUs, and the CPU roofline (triad GB/s, FP32 FLOP/s).

    With --out the result is written as a hardware profile; in ~/.config/fireflyer/profiles/ (created if
    missing) it becomes a named profile that other commands find.

    Examples:
      flyer profiles detect
      flyer profiles detect --quick --json
      flyer profiles detect --out ~/.config/fireflyer/profiles/this-host.yaml
    """
    out = Output(json)
    if name is not None:
        lib.check_name(name)
    if out_file is not None:
        out_file = lib.prepare_profile_path(out_file)
    with out.progress("measuring", total=4) as advance:
        prof = lib.detect(quick=quick, threads=threads, name=name, progress=advance)
    if out_file is not None:
        atomic_write(out_file, lib.to_yaml(prof))
        out.hint(f"wrote {out_file}")
    out.emit(lib.to_dict(prof), lambda o: view.detected(o, prof))
    if min_gbps is not None and prof.hbm_gbps < min_gbps:
        raise CheckFailed(f"measured bandwidth {prof.hbm_gbps:.1f} GB/s is below --min-gbps {min_gbps:g}")
