"""`flyer eplb`: expert-parallel load-balancing plans: make, evaluate, compare, rebalance from cron; and the
sample inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import eplb as lib
from .. import profiles
from ..errors import CheckFailed, InputError, about_file
from ..io import check_outputs
from ._options import INT32_MAX, INT64, DeploymentOpt, JsonOpt, ModelOpt, OutOpt, integer_in, number
from ._output import Output
from .views import eplb as view

app = typer.Typer(
    help="Expert-parallel load-balancing plans: DeepSeek parity, better balance, "
    "migration-aware rebalancing, plans SGLang and TensorRT-LLM load.",
    no_args_is_help=True,
)

Fraction = typer.Option(parser=number(low=0, high=1, high_open=True), metavar="FRACTION")
count = integer_in(1, INT32_MAX)
"""Slots, groups, nodes and GPUs: positive, and held in 32 bits by the core."""
ReplicasOpt = Annotated[
    int | None,
    typer.Option(
        "--replicas",
        "-r",
        parser=count,
        metavar="N",
        help="Physical expert slots per layer (default: experts + the deployment's redundant experts).",
    ),
]
GroupsOpt = Annotated[
    int | None,
    typer.Option(
        "--groups", parser=count, metavar="N", help="Expert groups (default: from the model, else 1)."
    ),
]
NodesOpt = Annotated[
    int | None,
    typer.Option("--nodes", parser=count, metavar="N", help="Nodes (default: from the deployment, else 1)."),
]
GpusOpt = Annotated[
    int | None,
    typer.Option(
        "--gpus",
        parser=count,
        metavar="N",
        help="GPUs in all (EP size), a multiple of --nodes (default: from the deployment, else 8).",
    ),
]
PlanGpusOpt = Annotated[
    int | None,
    typer.Option(
        "--gpus",
        parser=count,
        metavar="N",
        help="GPUs (EP size) of plans that do not say it (SGLang and TensorRT-LLM files).",
    ),
]
PlanNodesOpt = Annotated[
    int | None,
    typer.Option("--nodes", parser=count, metavar="N", help="Nodes of plans that do not say it (default 1)."),
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
LOAD_HELP = (
    "Loads \\[layers, experts]: .npy .json .yaml .csv .pt, an SGLang recorder dump (file or directory), "
    "TensorRT-LLM statistics (directory) or a vLLM load window (.pt)."
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
    replicas: ReplicasOpt = None,
    groups: GroupsOpt = None,
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    policy: Annotated[
        str,
        typer.Option("--policy", metavar="POLICY", help="deepseek (DeepSeek's eplb.py exactly) or balanced."),
    ] = "balanced",
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
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            parser=Fraction.parser,
            metavar="FRACTION",
            help="With --previous: allowed max/mean above the best, as a fraction.",
        ),
    ] = 0.01,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="native, sglang (.json or .pt) or trtllm (.yaml); default from --out's suffix, else native.",
        ),
    ] = None,
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
    fmt = lib.plan_format(fmt, out_file)
    check_outputs([out_file], [*(lib.load_paths(load) if load else []), previous])
    if load is None:
        model = model or lib.samples.SAMPLE_MODEL
        loads = lib.Loads(lib.sample_load().astype("float32"), None, "the shipped sample")
        out.hint(
            "no LOAD given: planning the shipped sample (a generated DeepSeek-V3 load: 58 MoE layers x 256 "
            "experts, 4096 tokens per layer; `flyer eplb sample` writes it)"
        )
    else:
        loads = lib.read_loads(load)
    prev = None
    if previous is not None:
        prev = lib.read_plan(previous, gpus=gpus, nodes=nodes, model=model, first_moe_layer=first_moe_layer)
    made = lib.plan_loads(
        loads,
        file=load,
        model=model,
        deployment=deployment,
        replicas=replicas,
        groups=groups,
        nodes=nodes,
        gpus=gpus,
        first_moe_layer=first_moe_layer,
        policy=policy,
        hierarchical=hierarchical,
        previous=prev,
        tolerance=tolerance,
    )
    p, lay = made.plan, made.layout
    moves = None
    if prev is not None:
        eb, src = lib.expert_bytes(lay.model, expert_bytes)
        d = lib.diff(prev, p, expert_bytes=eb)
        moves = {"copies": d["copies"], "bytes": d["bytes"], "expert_bytes_from": src}
    if made.layer_ids_from.startswith("row order") and fmt != "native":
        raise InputError(
            f"a {fmt} plan is indexed by decoder layer, and neither the load nor a model says which decoder "
            f"layers its {p.layers} rows are",
            file=str(load) if load else None,
            field="layer_ids",
            hint="pass --model or --first-moe-layer, or a load that carries layer ids",
        )
    step = None
    if out_file is not None:
        lib.write_plan(p, out_file, fmt)
        step = lib.engine_step(fmt, out_file, p)
    data = {
        **p.meta,
        **(moves or {}),
        "load": loads.source,
        "layout_from": lay.sources,
        "layer_ids_from": made.layer_ids_from,
        "format": fmt,
        "written": str(out_file) if out_file else None,
        "next_step": step,
    }
    out.emit(data, lambda o: view.plan(o, p, data))


@app.command()
def evaluate(
    plan_file: PlanArg,
    load: Annotated[Path, typer.Argument(metavar="LOAD", help=f"{LOAD_HELP}")],
    gpus: PlanGpusOpt = None,
    nodes: PlanNodesOpt = None,
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
    p = lib.read_plan(plan_file, gpus=gpus, nodes=nodes, model=model, first_moe_layer=first_moe_layer)
    loads = lib.read_loads(load)
    with about_file(load, "weight", "layer_ids"):
        ids = lib.layer_ids(
            loads.counts.shape[0], given=loads.layer_ids, model=model, first_moe_layer=first_moe_layer
        )
        counts, layer_ids = ids.moe(loads.counts)
        r = lib.evaluate(p, counts, layer_ids=layer_ids, file=str(load))
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
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The plan in place now (any format).")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The plan to move to (any format).")],
    gpus: PlanGpusOpt = None,
    nodes: PlanNodesOpt = None,
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
    kw = {"gpus": gpus, "nodes": nodes, "model": model, "first_moe_layer": first_moe_layer}
    a = lib.read_plan(old, **kw)
    b = lib.read_plan(new, **kw)
    eb, src = lib.expert_bytes(model, expert_bytes)
    with about_file(new):
        d = {**lib.diff(a, b, expert_bytes=eb), "expert_bytes_from": src}
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
            parser=Fraction.parser,
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
    gpus: PlanGpusOpt = None,
    nodes: PlanNodesOpt = None,
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
    eb, _ = lib.expert_bytes(model, expert_bytes)
    r = lib.rebalance(
        load,
        current,
        min_gain=min_gain,
        max_moves=max_moves,
        tolerance=tolerance,
        expert_bytes=eb,
        dry_run=dry_run,
        gpus=gpus,
        nodes=nodes,
        model=model,
        first_moe_layer=first_moe_layer,
    )
    for f in r.removed:
        out.hint(f"removed {f}, a temporary file a killed run left")
    out.emit({**r.__dict__, "message": r.line()}, lambda o: view.rebalance(o, r))


LOAD_SUFFIX_FORMAT = {".npy": "npy", ".json": "json", ".csv": "csv", ".pt": "pt"}


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
        str,
        typer.Option(
            "--kind",
            metavar="KIND",
            help="load (the shipped DeepSeek-V3 load), next-load (the same experts, new tokens) or plan "
            "(a plan of the load).",
        ),
    ] = "load",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="Loads: npy, json, csv, pt, sglang (recorder dump), trtllm (statistics directory), vllm "
            "(load window). Plans: native, sglang, trtllm. Default: from --out's suffix.",
        ),
    ] = None,
    deployment: Annotated[
        str,
        typer.Option("--deployment", help="--kind plan: the deployment planned for."),
    ] = "deepseek-v3-prefill",
    json: JsonOpt = False,
) -> None:
    """Write the shipped sample inputs: a DeepSeek-V3 load in any input format, or a plan of it.

    The load is generated, not recorded: 4096 tokens per MoE layer routed as DeepSeek-V3 routes them (8 of 256
    experts from the 4 best of 8 groups), whole-token counts for 58 MoE layers (decoder layers 3..60).

    Examples:
      flyer eplb sample --out load.npy
      flyer eplb sample --format sglang --out sglang-dump.pt
      flyer eplb sample --format trtllm --out expert_statistic
      flyer eplb sample --kind plan --out plan.json
    """
    out = Output(json)
    if kind not in ("load", "next-load", "plan"):
        raise InputError(f"unknown kind {kind!r}; expected load, next-load or plan", field="kind")
    if kind == "plan":
        fmt = lib.plan_format(fmt, out_path)
    elif fmt is None and (fmt := LOAD_SUFFIX_FORMAT.get(out_path.suffix.lower())) is None:
        raise InputError(
            f"cannot tell the format from {out_path.suffix or 'no suffix'}",
            file=str(out_path),
            field="format",
            hint="pass --format",
        )
    model = lib.samples.SAMPLE_MODEL
    ids = lib.layer_ids(58, model=model)
    counts = lib.sample_load("load" if kind == "plan" else kind)
    if kind == "plan":
        check_outputs([out_path])
        made = lib.plan_loads(
            lib.Loads(counts, None, "the shipped sample"), model=model, deployment=deployment
        )
        p, lay = made.plan, made.layout
        written = [lib.write_plan(p, out_path, fmt)]
        what = f"a {fmt} plan of the sample load for {deployment} ({lay.replicas} slots on {lay.gpus} GPUs)"
    else:
        if fmt not in lib.LOAD_FORMATS:
            raise InputError(
                f"unknown load format {fmt!r}; expected {', '.join(lib.LOAD_FORMATS)}", field="format"
            )
        if fmt != "trtllm":
            check_outputs([out_path])
        written = lib.write_loads(
            counts,
            out_path,
            fmt,
            layer_ids=ids.ids,
            decoder_layers=int(ids.decoder_layers or 0),
            experts_per_token=profiles.model(model).experts_per_token,
        )
        what = f"the sample {kind} as {fmt}"
    data = {"kind": kind, "format": fmt, "written": [str(x) for x in written], "model": model, "what": what}
    out.emit(data, lambda o: view.sample(o, data))
