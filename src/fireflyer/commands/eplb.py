"""`flyer eplb`: expert-parallel load-balancing plans: make, evaluate, compare, rebalance from cron; and the
sample inputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import eplb as lib
from ..errors import CheckFailed, InputError
from ..gates import write_junit
from ..io import check_outputs
from ._options import (
    INT64,
    DeploymentOpt,
    GpusOpt,
    JsonOpt,
    JunitOpt,
    ModelOpt,
    NodesOpt,
    OutOpt,
    PlotOpt,
    ToleranceOpt,
    integer_in,
    number,
)
from ._output import Output
from .eplb_options import (
    LOAD_HELP,
    SAMPLE_HINT,
    DumpDirOpt,
    DumpTimeoutOpt,
    ExpertBytesOpt,
    FirstMoeOpt,
    GroupsOpt,
    HttpTimeoutOpt,
    PlanArg,
    PlanFormatOpt,
    ReplicasAliasOpt,
    RequestsOpt,
    SampleFormatOpt,
    SecondsOpt,
    SlotsOpt,
    fraction,
)
from .views import eplb as view
from .views import eplb_plot, plotting

app = typer.Typer(
    help="Expert-parallel load-balancing plans: DeepSeek parity, better balance, "
    "migration-aware rebalancing, plans SGLang and TensorRT-LLM load.",
    no_args_is_help=True,
)

RESULTS: dict[str, type] = {
    "plan": lib.PlanResult,
    "evaluate": lib.Evaluation,
    "diff": lib.Diff,
    "rebalance": lib.RebalanceResult,
    "collect": lib.CollectResult,
    "sample": lib.SampleResult,
}
"""The record each command's --json prints (``flyer schema eplb COMMAND``)."""


@app.command()
def plan(
    load: Annotated[
        Path | None,
        typer.Argument(metavar="LOAD", help=f"{LOAD_HELP} Default: the shipped sample."),
    ] = None,
    slots: SlotsOpt = None,
    replicas: ReplicasAliasOpt = None,
    groups: GroupsOpt = None,
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    policy: Annotated[
        lib.Policy,
        typer.Option("--policy", help="deepseek (DeepSeek's eplb.py exactly) or balanced."),
    ] = lib.Policy.BALANCED,
    hierarchical: Annotated[
        bool, typer.Option("--hierarchical/--global", help="balanced: keep each expert group on one node.")
    ] = False,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            metavar="PLAN",
            help="Plan to start from (any format): move as few expert copies as possible; its layout and "
            "layers are the default.",
        ),
    ] = None,
    tolerance: ToleranceOpt = 0.01,
    fmt: PlanFormatOpt = None,
    model: ModelOpt = None,
    deployment: DeploymentOpt = None,
    first_moe_layer: FirstMoeOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    out_file: OutOpt = None,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Make a plan: which logical expert each physical slot on each GPU holds, for each decoder layer.

    Examples:
      flyer eplb plan --deployment deepseek-v3-prefill --plot plan.png
      flyer eplb plan load.npy --model deepseek-v3 --nodes 4 --gpus 32 --out plan.json
      flyer eplb plan sglang-dump.pt --model deepseek-v3 --nodes 4 --gpus 32 --out sglang-plan.pt
      flyer eplb plan next-load.npy --previous plan.json --model deepseek-v3 --out next.json
    """
    out = Output(json)
    plotting.check_plot(plot, [load, previous], [out_file])
    if load is None:
        out.hint(SAMPLE_HINT)
    where: dict[str, Any] = {"model": model, "first_moe_layer": first_moe_layer, "expert_bytes": expert_bytes}
    slots = slots if slots is not None else replicas
    lay: dict[str, Any] = {
        "deployment": deployment,
        "slots": slots,
        "groups": groups,
        "nodes": nodes,
        "gpus": gpus,
    }
    how: dict[str, Any] = {"policy": policy, "hierarchical": hierarchical, "tolerance": tolerance}
    r = lib.plan_file(load, out=out_file, fmt=fmt, previous=previous, **where, **lay, **how)
    out.emit(r, lambda o: view.plan(o, r))
    plotting.write(out, plot, eplb_plot.plot_plan, r)


@app.command()
def evaluate(
    plan_file: PlanArg,
    load: Annotated[Path, typer.Argument(metavar="LOAD", help=f"{LOAD_HELP}")],
    gpus: GpusOpt = None,
    nodes: NodesOpt = None,
    model: ModelOpt = None,
    first_moe_layer: FirstMoeOpt = None,
    max_imbalance: Annotated[
        float | None,
        typer.Option(
            "--max-imbalance",
            parser=number(low=1),
            metavar="RATIO",
            help="Exit 1 when overall max/mean is above this (>= 1).",
        ),
    ] = None,
    plot: PlotOpt = None,
    junit: JunitOpt = None,
    json: JsonOpt = False,
) -> None:
    """Max/mean GPU load of a plan on a load: per layer, per node and overall.

    Overall is the mean over the layers that carry load; dense layers' empty rows are left out.

    Examples:
      flyer eplb evaluate plan.json load.npy --model deepseek-v3 --plot evaluate.svg
      flyer eplb evaluate plan.json load.npy --model deepseek-v3 --max-imbalance 1.05 --junit eplb.xml
      flyer eplb evaluate sglang-plan.json sglang-dump.pt --gpus 32 --nodes 4 --json
    """
    out = Output(json)
    plotting.check_plot(plot, [plan_file, load])
    check_outputs([junit], [plan_file, load])
    where: dict[str, Any] = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    r = lib.evaluate_files(plan_file, load, max_imbalance=max_imbalance, **where)
    out.emit(r, lambda o: view.evaluate(o, r))
    plotting.write(out, plot, eplb_plot.plot_evaluate, r)
    write_junit(junit, "flyer eplb evaluate", r.checks())
    if not r.ok:
        raise CheckFailed(
            f"overall max/mean {r.overall:.4f} is above --max-imbalance {max_imbalance}", file=str(plan_file)
        )


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The plan in place now (any format).")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The plan to move to (any format).")],
    gpus: GpusOpt = None,
    nodes: NodesOpt = None,
    model: ModelOpt = None,
    first_moe_layer: FirstMoeOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    json: JsonOpt = False,
) -> None:
    """Expert copies each GPU and node must fetch to go from OLD to NEW, and the bytes.

    Examples:
      flyer eplb diff plan.json next.json
      flyer eplb diff plan.json next.json --expert-bytes 88080384 --json
    """
    out = Output(json)
    where: dict[str, Any] = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    d = lib.diff_files(old, new, expert_bytes=expert_bytes, **where)
    out.emit(d, lambda o: view.diff(o, d))


@app.command()
def rebalance(
    ctx: typer.Context,
    current: Annotated[
        Path,
        typer.Option(
            "--current",
            metavar="PLAN",
            help="The plan in place (native, SGLang or TensorRT-LLM); replaced atomically in its own format.",
        ),
    ],
    load: Annotated[
        Path | None,
        typer.Option(
            "--load",
            metavar="LOAD",
            help=f"{LOAD_HELP} With --collect-from: where the collected load goes (default PLAN.load.pt).",
        ),
    ] = None,
    collect_from: Annotated[
        str | None,
        typer.Option(
            "--collect-from",
            metavar="URL",
            help="First collect the load from this SGLang server (as flyer eplb collect; needs --dump-dir "
            "and --seconds or --requests).",
        ),
    ] = None,
    dump_dir: DumpDirOpt = None,
    seconds: SecondsOpt = None,
    requests: RequestsOpt = None,
    min_gain: Annotated[
        float,
        typer.Option(
            "--min-gain",
            parser=fraction,
            metavar="FRACTION",
            help="Replace only when max/mean improves by more than this fraction.",
        ),
    ] = 0.02,
    max_moves: Annotated[
        int | None,
        typer.Option(
            "--max-moves",
            parser=integer_in(0, INT64 - 1),
            metavar="N",
            help="At most this many expert copies.",
        ),
    ] = None,
    tolerance: ToleranceOpt = 0.01,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and report; write nothing.")] = False,
    gpus: GpusOpt = None,
    nodes: NodesOpt = None,
    model: ModelOpt = None,
    first_moe_layer: FirstMoeOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    replaced_exit: Annotated[
        int | None,
        typer.Option(
            "--replaced-exit",
            parser=integer_in(10, 63),
            metavar="N",
            help="Exit N (10..63) when the plan was replaced, so a wrapper restarts the server only then "
            '(default: 0 for kept and replaced alike; --json says "replaced").',
        ),
    ] = None,
    systemd: Annotated[
        Path | None,
        typer.Option(
            "--systemd",
            metavar="DIR",
            file_okay=False,
            help="Run nothing: write flyer-eplb-rebalance.service and .timer running this command line "
            "into DIR.",
        ),
    ] = None,
    on_calendar: Annotated[
        str, typer.Option("--on-calendar", metavar="WHEN", help="--systemd: the timer's OnCalendar=.")
    ] = "hourly",
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """For cron: replace the plan in place when the new loads make it worth the expert copies.

    Takes a lock beside the plan: a concurrent run exits 75 and touches nothing. The plan is replaced
    atomically, in its own format and layers, so a failed or killed run leaves it intact and the engine
    loads the new one; one line says what was done and how the engine picks it up. --collect-from collects
    the load from a running SGLang server first (as flyer eplb collect), under the same lock.

    Examples:
      flyer eplb rebalance --load next-load.npy --current plan.json --model deepseek-v3
      flyer eplb rebalance --load next-load.npy --current plan.json --dry-run --plot rebalance.png
      flyer eplb rebalance --load sglang-dump.pt --current sglang-plan.json --gpus 32 --nodes 4 --json
      flyer eplb rebalance --current plan.json --collect-from http://HOST:30000 --dump-dir /srv --seconds 600
      flyer eplb rebalance --current /srv/plan.json --load /srv/load.pt --systemd /etc/systemd/system
    """
    out = Output(json)
    plotting.check_plot(plot, [load, current])
    if systemd is not None:
        return _systemd(out, ctx, systemd, on_calendar, replaced_exit)
    job = _job(collect_from, dump_dir, seconds, requests, model)
    where: dict[str, Any] = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    how: dict[str, Any] = dict(min_gain=min_gain, max_moves=max_moves, tolerance=tolerance, dry_run=dry_run)
    with out.progress("collecting the load" if job else "rebalancing") as advance:
        r = lib.rebalance(
            load, current, collect=job, expert_bytes=expert_bytes, progress=advance, **how, **where
        )
    for f in r.removed:
        out.hint(f"removed {f}, a temporary file a killed run left")
    out.emit(r, lambda o: view.rebalance(o, r))
    plotting.write(out, plot, eplb_plot.plot_rebalance, r)
    if r.replaced and replaced_exit is not None:
        raise typer.Exit(replaced_exit)


@app.command()
def collect(
    server: Annotated[
        str, typer.Option("--server", metavar="URL", help="The SGLang server, e.g. http://HOST:30000.")
    ],
    dump_dir: DumpDirOpt = None,
    out_file: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="LOAD", dir_okay=False, help="The load file to write (.pt)."),
    ] = Path("load.pt"),
    seconds: SecondsOpt = None,
    requests: RequestsOpt = None,
    model: ModelOpt = None,
    timeout: HttpTimeoutOpt = 10.0,
    dump_timeout: DumpTimeoutOpt = 120.0,
    json: JsonOpt = False,
) -> None:
    """Collect a load file from a running SGLang server's expert-distribution recorder.

    Starts the recorder, waits --seconds (or --requests), stops it, asks for a dump and moves the file the
    server wrote into --dump-dir (its SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR, shared with this machine)
    to --out once it is whole. The server must run with --expert-distribution-recorder-mode stat and
    without --enable-eplb; an API key goes in FLYER_SGLANG_API_KEY. Exit 2 when the server is not SGLang
    or cannot record, 1 when it does not answer or no dump appears in time, 75 when another collect holds
    the directory.

    Examples:
      flyer eplb collect --server http://127.0.0.1:30000 --dump-dir /srv/eplb --seconds 600 --out load.pt
      flyer eplb collect --server http://10.0.0.5:30000 --dump-dir /mnt/eplb --requests 5000 --json
    """
    out = Output(json)
    job = _job(server, dump_dir, seconds, requests, model, timeout=timeout, dump_timeout=dump_timeout)
    assert job is not None
    with out.progress("recording") as advance:
        r = job.run(out_file, progress=advance)
    out.emit(r, lambda o: o.line(r.message))


def _systemd(
    out: Output, ctx: typer.Context, into: Path, on_calendar: str, replaced_exit: int | None
) -> None:
    """`rebalance --systemd DIR`: the service and timer that run this command line, written into ``into``."""
    argv = _argv(ctx, skip={"systemd", "on_calendar", "json", "plot"})
    for f in lib.write_systemd(into, argv, on_calendar=on_calendar, replaced_exit=replaced_exit):
        out.hint(f"wrote {f}")
    out.hint(f"next: systemctl daemon-reload && systemctl enable --now {lib.SYSTEMD_UNIT}.timer")


def _job(
    server: str | None,
    dump_dir: Path | None,
    seconds: float | None,
    requests: int | None,
    model: str | None,
    **http: float,
) -> lib.CollectJob | None:
    """The collect job of --server/--collect-from and its options (None without a server)."""
    if server is None:
        return None
    if dump_dir is None:
        raise InputError("collecting needs the directory the server dumps into", field="dump-dir")
    return lib.CollectJob(
        server=server, dump_dir=str(dump_dir), seconds=seconds, requests=requests, model=model, **http
    )


def _argv(ctx: typer.Context, *, skip: set[str]) -> list[str]:
    """This command line as an argv for a unit file: the installed flyer's absolute path, then the options
    given (paths made absolute, as a unit runs in /), but those in ``skip``."""
    argv = [str(Path(sys.executable).parent / "flyer"), *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name in skip or value is None or value is False or value == param.default:
            continue
        flag = param.opts[0]
        if value is True:
            argv.append(flag)
        else:
            argv += [flag, str(Path(value).absolute()) if isinstance(value, Path) else str(value)]
    return argv


@app.command()
def sample(
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="Where to write (a directory for --format trtllm loads).",
        ),
    ],
    kind: Annotated[
        lib.SampleKind,
        typer.Option(
            "--kind",
            help="load (the shipped DeepSeek-V3 load), next-load (the same experts, new tokens) or plan "
            "(a plan of the load).",
        ),
    ] = lib.SampleKind.LOAD,
    fmt: SampleFormatOpt = None,
    deployment: DeploymentOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write the shipped sample inputs: a DeepSeek-V3 load in any input format, or a plan of it.

    The load is generated, not recorded: 4096 tokens per MoE layer routed as DeepSeek-V3 routes them (8 of 256
    experts from the 4 best of 8 groups), whole-token counts for 58 MoE layers (decoder layers 3..60).
    --deployment: the deployment a --kind plan is made for (default deepseek-v3-prefill).

    Examples:
      flyer eplb sample --out load.npy
      flyer eplb sample --format sglang --out sglang-dump.pt
      flyer eplb sample --format trtllm --out expert_statistic
      flyer eplb sample --kind plan --out plan.json
    """
    out = Output(json)
    r = lib.write_sample(out_path, kind, fmt, deployment)
    out.emit(r, lambda o: view.sample(o, r))
