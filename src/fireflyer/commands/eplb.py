"""`flyer eplb`: expert-parallel load-balancing plans: make, evaluate, compare, rebalance from cron."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import eplb as lib
from ..errors import CheckFailed, about_file
from ..io import check_outputs
from ._options import DeploymentOpt, JsonOpt, ModelOpt, OutOpt, integer, number
from ._output import Output
from .views import eplb as view

app = typer.Typer(
    help="Expert-parallel load-balancing plans: DeepSeek parity, better balance, "
    "migration-aware rebalancing.",
    no_args_is_help=True,
)

Fraction = typer.Option(parser=number(low=0, high=1, high_open=True), metavar="FRACTION")
ReplicasOpt = Annotated[
    int | None,
    typer.Option(
        "--replicas",
        "-r",
        parser=integer,
        metavar="N",
        help="Physical expert slots per layer (default: experts + the deployment's redundant experts).",
    ),
]
GroupsOpt = Annotated[
    int | None,
    typer.Option(
        "--groups", parser=integer, metavar="N", help="Expert groups (default: from the model, else 1)."
    ),
]
NodesOpt = Annotated[
    int | None,
    typer.Option(
        "--nodes", parser=integer, metavar="N", help="Nodes (default: from the deployment, else 1)."
    ),
]
GpusOpt = Annotated[
    int | None,
    typer.Option(
        "--gpus",
        parser=integer,
        metavar="N",
        help="GPUs in all, a multiple of --nodes (default: from the deployment, else 8).",
    ),
]
ExpertBytesOpt = Annotated[
    int | None,
    typer.Option(
        "--expert-bytes",
        parser=integer,
        metavar="N",
        help="Bytes per expert copy (default: the model profile's FP8 size).",
    ),
]
PlanArg = Annotated[Path, typer.Argument(metavar="PLAN", help="Plan file (native, sglang, vllm or trtllm).")]


@app.command()
def plan(
    load: Annotated[
        Path | None,
        typer.Argument(
            metavar="LOAD",
            help="Loads \\[layers, experts]: .json .yaml .csv .npy .pt, or a directory of dumps. "
            "Default: the shipped sample.",
        ),
    ] = None,
    replicas: ReplicasOpt = None,
    groups: GroupsOpt = None,
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    policy: Annotated[
        str, typer.Option("--policy", help="deepseek (the reference's greedy) or balanced.")
    ] = "balanced",
    hierarchical: Annotated[
        bool, typer.Option("--hierarchical/--global", help="balanced: keep each expert group on one node.")
    ] = False,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous", metavar="PLAN", help="Plan to start from: move as few expert copies as possible."
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            parser=Fraction.parser,
            metavar="FRACTION",
            help="With --previous: allowed max/mean above the best, as a fraction.",
        ),
    ] = 0.01,
    fmt: Annotated[str, typer.Option("--format", help="native, sglang, vllm or trtllm.")] = "native",
    model: ModelOpt = None,
    deployment: DeploymentOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    out_file: OutOpt = None,
    json: JsonOpt = False,
) -> None:
    """Make a plan: which logical expert each physical slot on each GPU holds.

    Examples:
      flyer eplb plan --deployment deepseek-v3-prefill
      flyer eplb plan load.npy --model deepseek-v3 --nodes 4 --gpus 32 --out plan.json
      flyer eplb plan load.json --policy deepseek --replicas 16 --groups 4 --nodes 2 --gpus 8 --json
      flyer eplb plan load.npy --previous plan.json --model deepseek-v3 --nodes 4 --gpus 32 --out next.json
    """
    out = Output(json)
    check_outputs([out_file], [load, previous])
    if load is None:
        w, model = lib.sample_loads(), model or "deepseek-v3"
        out.hint(
            "no LOAD given: planning the shipped sample (a generated Zipf-like DeepSeek-V3 load, 58 x 256)"
        )
    else:
        w = lib.read_loads(load)
    lay = lib.layout(
        w.shape[1],
        model=model,
        deployment=deployment,
        replicas=replicas,
        groups=groups,
        nodes=nodes,
        gpus=gpus,
    )
    prev = lib.read_plan(previous, gpus=lay.gpus, nodes=lay.nodes) if previous else None
    with about_file(load, "weight"):
        p = lib.plan(
            w,
            lay.replicas,
            lay.groups,
            lay.nodes,
            lay.gpus,
            policy=policy,
            hierarchical=hierarchical,
            previous=prev,
            tolerance=tolerance,
        )
    moves = None
    if prev is not None:
        eb, src = lib.expert_bytes(lay.model, expert_bytes)
        d = lib.diff(prev, p, expert_bytes=eb)
        moves = {"copies": d["copies"], "bytes": d["bytes"], "expert_bytes_from": src}
    if out_file is not None:
        lib.write_plan(p, out_file, fmt)
        out.hint(f"wrote {out_file} ({fmt})")
    data = {
        **p.meta,
        **(moves or {}),
        "layout_from": lay.sources,
        "written": str(out_file) if out_file else None,
    }
    out.emit(data, lambda o: view.plan(o, p, data))


@app.command()
def evaluate(
    plan_file: PlanArg,
    load: Annotated[Path, typer.Argument(metavar="LOAD", help="Loads to evaluate the plan on.")],
    gpus: Annotated[
        int | None,
        typer.Option("--gpus", parser=integer, metavar="N", help="GPUs, for plan files without meta."),
    ] = None,
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", parser=integer, metavar="N", help="Nodes, for plan files without meta."),
    ] = None,
    max_imbalance: Annotated[
        float | None,
        typer.Option(
            "--max-imbalance",
            parser=number(low=1),
            metavar="RATIO",
            help="Exit 1 when overall max/mean is above this (>= 1).",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Max/mean GPU load of a plan on a load: per layer, per node and overall (the mean over layers).

    Examples:
      flyer eplb evaluate plan.json load.npy
      flyer eplb evaluate plan.json load.npy --max-imbalance 1.05
      flyer eplb evaluate sglang-plan.json dumps/ --gpus 32 --nodes 4 --json
    """
    out = Output(json)
    p = lib.read_plan(plan_file, gpus=gpus, nodes=nodes)
    w = lib.read_loads(load)
    with about_file(load, "weight"):
        r = lib.evaluate(p, w, file=str(plan_file))
    r["max_imbalance"] = max_imbalance
    r["ok"] = max_imbalance is None or r["overall"] <= max_imbalance
    out.emit(r, lambda o: view.evaluate(o, r))
    if not r["ok"]:
        raise CheckFailed(
            f"overall max/mean {r['overall']:.4f} is above --max-imbalance {max_imbalance}",
            file=str(plan_file),
        )


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The plan in place now.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The plan to move to.")],
    gpus: Annotated[
        int | None,
        typer.Option("--gpus", parser=integer, metavar="N", help="GPUs, for plan files without meta."),
    ] = None,
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", parser=integer, metavar="N", help="Nodes, for plan files without meta."),
    ] = None,
    model: ModelOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    json: JsonOpt = False,
) -> None:
    """Expert copies each GPU and node must fetch to go from OLD to NEW, and the bytes.

    Examples:
      flyer eplb diff plan.json next.json
      flyer eplb diff plan.json next.json --expert-bytes 88080384 --json
    """
    out = Output(json)
    a = lib.read_plan(old, gpus=gpus, nodes=nodes)
    b = lib.read_plan(new, gpus=gpus, nodes=nodes)
    eb, src = lib.expert_bytes(model, expert_bytes)
    d = {**lib.diff(a, b, expert_bytes=eb), "expert_bytes_from": src}
    out.emit(d, lambda o: view.diff(o, d))


@app.command()
def rebalance(
    load: Annotated[
        Path, typer.Option("--load", metavar="LOAD", help="New loads (file or directory of dumps).")
    ],
    current: Annotated[
        Path,
        typer.Option("--current", metavar="PLAN", help="The plan in place (native); replaced atomically."),
    ],
    min_gain: Annotated[
        float,
        typer.Option(
            "--min-gain",
            parser=Fraction.parser,
            metavar="FRACTION",
            help="Replace only when max/mean improves by more than this fraction.",
        ),
    ] = 0.02,
    max_moves: Annotated[
        int | None,
        typer.Option("--max-moves", parser=integer, metavar="N", help="At most this many expert copies."),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            parser=Fraction.parser,
            metavar="FRACTION",
            help="Allowed max/mean above the best, as a fraction.",
        ),
    ] = 0.01,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and report; write nothing.")] = False,
    model: ModelOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    json: JsonOpt = False,
) -> None:
    """For cron: replace the current plan when the new loads make it worth the expert copies.

    Takes a lock beside the plan: a concurrent run exits 75 and touches nothing. The plan is replaced
    atomically, so a failed or killed run leaves it intact.

    Examples:
      flyer eplb rebalance --load /var/lib/sglang/expert-dumps --current /etc/sglang/plan.json
      flyer eplb rebalance --load load.npy --current plan.json --min-gain 0.05 --max-moves 500 --json
    """
    out = Output(json)
    eb, _ = lib.expert_bytes(model, expert_bytes)
    r = lib.rebalance(
        load,
        current,
        min_gain=min_gain,
        max_moves=max_moves,
        tolerance=tolerance,
        expert_bytes=eb,
        dry_run=dry_run,
    )
    out.emit({**r.__dict__, "message": r.line()}, lambda o: o.line(r.line()))
