"""`flyer eplb`: expert-parallel load-balancing plans: make, evaluate, compare, rebalance from cron; and the
sample inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import eplb as lib
from ..errors import CheckFailed
from ._options import (
    INT32_MAX,
    INT64,
    DeploymentOpt,
    GpusOpt,
    JsonOpt,
    ModelOpt,
    NodesOpt,
    OutOpt,
    ToleranceOpt,
    format_opt,
    integer_in,
    number,
)
from ._output import Output
from .views import eplb as view

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
    "sample": lib.SampleResult,
}
"""The record each command's --json prints (``flyer schema eplb COMMAND``)."""

count = integer_in(1, INT32_MAX)
"""Slots and groups: positive, and held in 32 bits by the core."""
fraction = number(low=0, high=1, high_open=True)
SlotsOpt = Annotated[
    int | None,
    typer.Option(
        "--slots",
        parser=count,
        metavar="N",
        help="Physical expert slots per layer (default: experts + the deployment's redundant experts).",
    ),
]
ReplicasAliasOpt = Annotated[
    int | None,
    typer.Option("--replicas", "-r", parser=count, metavar="N", hidden=True, help="Old name of --slots."),
]
GroupsOpt = Annotated[
    int | None,
    typer.Option(
        "--groups", parser=count, metavar="N", help="Expert groups (default: from the model, else 1)."
    ),
]
FirstMoeOpt = Annotated[
    int | None,
    typer.Option(
        "--first-moe-layer",
        parser=integer_in(0, INT32_MAX),
        metavar="N",
        help="Decoder-layer id of the first MoE layer, where the load does not name its layers (default: the "
        "model's; DeepSeek-V3: 3). Rows below it are dense layers.",
    ),
]
ExpertBytesOpt = Annotated[
    int | None,
    typer.Option(
        "--expert-bytes",
        parser=integer_in(0, INT64 - 1),
        metavar="N",
        help="Bytes per expert copy (default: the model profile's FP8 size).",
    ),
]
PlanFormatOpt = format_opt(
    lib.PlanFormat,
    "native (.json), sglang (.json or .pt) or trtllm (.yaml); default from --out's suffix, else native. "
    "vLLM reads no plan file: it plans in-process with FLYER_VLLM_EPLB=balanced.",
)
SampleFormatOpt = format_opt(
    lib.SampleFormat,
    "Loads: npy, json, csv, pt, sglang (recorder dump), trtllm (statistics directory), vllm (load window). "
    "Plans: native, sglang, trtllm. Default: from --out's suffix.",
)
LOAD_HELP = (
    "Loads \\[layers, experts]: .npy .json .yaml .csv .pt, an SGLang recorder dump (file or directory), "
    "TensorRT-LLM statistics (directory) or a vLLM load window (.pt)."
)
SAMPLE_HINT = (
    "no LOAD given: planning the shipped sample (a generated DeepSeek-V3 load: 58 MoE layers x 256 experts, "
    "4096 tokens per layer; `flyer eplb sample` writes it)"
)
PlanArg = Annotated[
    Path,
    typer.Argument(metavar="PLAN", help="Plan file: native .json, SGLang .json/.pt, TensorRT-LLM .yaml."),
]


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
    json: JsonOpt = False,
) -> None:
    """Make a plan: which logical expert each physical slot on each GPU holds, for each decoder layer.

    Examples:
      flyer eplb plan --deployment deepseek-v3-prefill
      flyer eplb plan load.npy --model deepseek-v3 --nodes 4 --gpus 32 --out plan.json
      flyer eplb plan sglang-dump.pt --model deepseek-v3 --nodes 4 --gpus 32 --out sglang-plan.pt
      flyer eplb plan next-load.npy --previous plan.json --model deepseek-v3 --out next.json
    """
    out = Output(json)
    if load is None:
        out.hint(SAMPLE_HINT)
    where = {"model": model, "first_moe_layer": first_moe_layer, "expert_bytes": expert_bytes}
    slots = slots if slots is not None else replicas
    lay = {"deployment": deployment, "slots": slots, "groups": groups, "nodes": nodes, "gpus": gpus}
    how = {"policy": policy, "hierarchical": hierarchical, "tolerance": tolerance}
    r = lib.plan_file(load, out=out_file, fmt=fmt, previous=previous, **where, **lay, **how)
    out.emit(r, lambda o: view.plan(o, r))


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
    json: JsonOpt = False,
) -> None:
    """Max/mean GPU load of a plan on a load: per layer, per node and overall.

    Overall is the mean over the layers that carry load; dense layers' empty rows are left out.

    Examples:
      flyer eplb evaluate plan.json load.npy --model deepseek-v3
      flyer eplb evaluate plan.json load.npy --model deepseek-v3 --max-imbalance 1.05
      flyer eplb evaluate sglang-plan.json sglang-dump.pt --gpus 32 --nodes 4 --json
    """
    out = Output(json)
    where = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    r = lib.evaluate_files(plan_file, load, max_imbalance=max_imbalance, **where)
    out.emit(r, lambda o: view.evaluate(o, r))
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
    where = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    d = lib.diff_files(old, new, expert_bytes=expert_bytes, **where)
    out.emit(d, lambda o: view.diff(o, d))


@app.command()
def rebalance(
    load: Annotated[Path, typer.Option("--load", metavar="LOAD", help=LOAD_HELP)],
    current: Annotated[
        Path,
        typer.Option(
            "--current",
            metavar="PLAN",
            help="The plan in place (native, SGLang or TensorRT-LLM); replaced atomically in its own format.",
        ),
    ],
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
    json: JsonOpt = False,
) -> None:
    """For cron: replace the plan in place when the new loads make it worth the expert copies.

    Takes a lock beside the plan: a concurrent run exits 75 and touches nothing. The plan is replaced
    atomically, in its own format and layers, so a failed or killed run leaves it intact and the engine
    loads the new one; the output says how the engine picks it up.

    Examples:
      flyer eplb rebalance --load next-load.npy --current plan.json --model deepseek-v3
      flyer eplb rebalance --load sglang-dump.pt --current sglang-plan.json --gpus 32 --nodes 4 --json
    """
    out = Output(json)
    where = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    r = lib.rebalance(
        load,
        current,
        min_gain=min_gain,
        max_moves=max_moves,
        tolerance=tolerance,
        expert_bytes=expert_bytes,
        dry_run=dry_run,
        **where,
    )
    for f in r.removed:
        out.hint(f"removed {f}, a temporary file a killed run left")
    out.emit(r, lambda o: view.rebalance(o, r))


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
