"""`flyer profiles`: hardware, model and cluster profiles, and the measured profile of this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import profiles as lib
from ..errors import CheckFailed, InputError
from ..io import atomic_write
from ._options import JsonOpt, OutOpt
from ._output import Output

app = typer.Typer(help="Hardware, model and cluster profiles, and the measured profile of this machine.",
                  no_args_is_help=True)


@app.command("list")
def list_(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind: hardware, model or cluster.")] = None,
    json: JsonOpt = False,
) -> None:
    """List every profile: shipped ones and the user's (FLYER_PROFILES, ~/.config/fireflyer/profiles).

    Examples:
      flyer profiles list
      flyer profiles list --kind hardware --json
    """
    out = Output(json)
    rows, problems = lib.catalog(kind)
    for p in problems:
        out.warn(f"skipped invalid profile {p.one_line()}")
    data = [{"name": e.name, "kind": e.kind, "origin": e.origin, "path": str(e.path),
             "description": getattr(e.profile, "description", ""),
             "overrides": [str(s) for s in e.shadows]} for e in rows]
    out.emit(data, lambda o: o.table(
        ["name", "kind", "origin", "description"],
        [(d["name"], d["kind"], d["origin"] + (" (overrides shipped)" if d["overrides"] else ""), d["description"])
         for d in data], justify=["left"] * 4))


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Profile name or alias, e.g. h800-sxm, deepseek-r1.")],
    json: JsonOpt = False,
) -> None:
    """Show one profile and the file it came from.

    Examples:
      flyer profiles show h800-sxm
      flyer profiles show deepseek-v3 --json
    """
    out = Output(json)
    entry = lib.find(name)
    data = {"profile": lib.to_dict(entry.profile), "path": str(entry.path), "origin": entry.origin,
            "overrides": [str(s) for s in entry.shadows]}

    def render(o: Output) -> None:
        o.line(f"# {entry.kind} profile {entry.name} from {entry.path} ({entry.origin})", style="dim")
        for s in entry.shadows:
            o.line(f"# overrides {s}", style="dim")
        o.line(lib.to_yaml(entry.profile).rstrip())

    out.emit(data, render)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Profile YAML files to check.")],
    json: JsonOpt = False,
) -> None:
    """Validate profile files against the schema; exit 2 naming the file and field of the first error.

    Examples:
      flyer profiles validate my-gpu.yaml
      flyer profiles validate ~/.config/fireflyer/profiles/*.yaml --json
    """
    out = Output(json)
    results = []
    for f in files:
        try:
            prof = lib.load_file(f)
            results.append({"file": str(f), "ok": True, "name": prof.name,
                            "kind": type(prof).__struct_config__.tag, "error": None})
        except InputError as e:
            results.append({"file": str(f), "ok": False, "name": None, "kind": None, "error": e.one_line()})
            if not json:
                raise
    if json:
        out.emit({"ok": all(r["ok"] for r in results), "files": results})
        if not all(r["ok"] for r in results):
            raise typer.Exit(2)
        return
    for r in results:
        out.line(f"ok  {r['file']}  ({r['kind']} {r['name']})")


@app.command()
def detect(
    quick: Annotated[bool, typer.Option("--quick", help="About 1 s instead of about 5 s; less accurate.")] = False,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Threads to use (default: all available cores).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Profile name to give the result (default: HOSTNAME-cpu).")] = None,
    out_file: OutOpt = None,
    min_gbps: Annotated[float | None, typer.Option("--min-gbps", help="Exit 1 if measured bandwidth is below this.")] = None,
    json: JsonOpt = False,
) -> None:
    """Measure this machine: CPU, cores, memory, GPUs, and the CPU roofline (triad GB/s, FP32 FLOP/s).

    With --out the result is written as a hardware profile that `flyer kernels` can use as the CPU
    roofline; put it in ~/.config/fireflyer/profiles/ to make it a named profile.

    Examples:
      flyer profiles detect
      flyer profiles detect --quick --json
      flyer profiles detect --out ~/.config/fireflyer/profiles/this-host.yaml
    """
    out = Output(json)
    with out.progress("measuring", total=4) as advance:
        prof = lib.detect(quick=quick, threads=threads, name=name, progress=advance)
    if out_file is not None:
        atomic_write(out_file, lib.to_yaml(prof))
        out.hint(f"wrote {out_file}")
    data = lib.to_dict(prof)

    def render(o: Output) -> None:
        h = prof.host
        assert h is not None
        o.kv({"name": prof.name, "cpu": h.cpu_model, "cores": f"{h.physical_cores} physical, {h.logical_cores} logical "
              f"({h.threads_used} used)", "memory": f"{h.memory_gib:.1f} GiB", "vector ISA": h.isa,
              "memory bandwidth": f"{prof.hbm_gbps:.1f} GB/s (triad, {h.triad_array_mib:.0f} MiB arrays)",
              "FP32 peak": f"{prof.peak_tflops.fp32 * 1000:.1f} GFLOP/s",
              "machine balance": f"{prof.peak_tflops.fp32 * 1000 / prof.hbm_gbps:.2f} FLOP/byte",
              "GPUs": ", ".join(f"{g.index}: {g.device_name} -> {g.profile or 'no profile'}" for g in h.gpus) or "none"},
             title="This machine")

    out.emit(data, render)
    if min_gbps is not None and prof.hbm_gbps < min_gbps:
        raise CheckFailed(f"measured bandwidth {prof.hbm_gbps:.1f} GB/s is below --min-gbps {min_gbps}")
