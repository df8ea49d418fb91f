"""`flyer eplb`: expert-parallel load-balancing plans: make, evaluate, compare, rebalance from cron."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import CheckFailed, InputError
from ._options import JsonOpt, ModelOpt, OutOpt
from ._output import Output

app = typer.Typer(help="Expert-parallel load-balancing plans: DeepSeek parity, better balance, "
                       "migration-aware rebalancing.", no_args_is_help=True)

ReplicasOpt = Annotated[Optional[int], typer.Option("--replicas", "-r", help="Physical expert slots per layer (default: experts + the cluster's redundant experts, or 288).")]
GroupsOpt = Annotated[Optional[int], typer.Option("--groups", help="Expert groups (default: from --model, else 1).")]
NodesOpt = Annotated[int, typer.Option("--nodes", help="Nodes.")]
GpusOpt = Annotated[int, typer.Option("--gpus", help="GPUs in all (a multiple of --nodes).")]
ExpertBytesOpt = Annotated[Optional[int], typer.Option("--expert-bytes", help="Bytes per expert copy (default: from --model, FP8).")]


def _expert_bytes(model: Optional[str], expert_bytes: Optional[int]) -> tuple[int, str]:
    if expert_bytes is not None:
        if expert_bytes < 0:
            raise InputError(f"must be non-negative, got {expert_bytes}", field="expert-bytes")
        return expert_bytes, "--expert-bytes"
    from .. import profiles

    name = model or "deepseek-v3"
    return int(profiles.model(name).expert_bytes.fp8), f"{name} fp8"


def _summary(p, extra: dict | None = None) -> dict:
    m = dict(p.meta)
    return {**m, **(extra or {})}


@app.command()
def plan(
    load: Annotated[Optional[Path], typer.Argument(help="Loads [layers, experts]: .json .yaml .csv .npy .pt, or a directory of dumps. Default: the shipped sample.")] = None,
    replicas: ReplicasOpt = None,
    groups: GroupsOpt = None,
    nodes: NodesOpt = 1,
    gpus: GpusOpt = 8,
    policy: Annotated[str, typer.Option("--policy", help="deepseek (the reference's greedy) or balanced.")] = "balanced",
    hierarchical: Annotated[bool, typer.Option("--hierarchical/--global", help="balanced: keep each expert group on one node.")] = False,
    previous: Annotated[Optional[Path], typer.Option("--previous", help="Plan to start from: move as few expert copies as possible.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="With --previous: allowed max/mean above the best, as a fraction.")] = 0.01,
    fmt: Annotated[str, typer.Option("--format", help="native, sglang, vllm or trtllm.")] = "native",
    model: ModelOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    out_file: OutOpt = None,
    json: JsonOpt = False,
) -> None:
    """Make a plan: which logical expert each physical slot on each GPU holds.

    Examples:
      flyer eplb plan --model deepseek-v3 --nodes 4 --gpus 32
      flyer eplb plan load.npy --replicas 288 --groups 8 --nodes 4 --gpus 32 --out plan.json
      flyer eplb plan load.json --policy deepseek --replicas 16 --groups 4 --nodes 2 --gpus 8 --json
      flyer eplb plan new-load.pt --previous plan.json --replicas 288 --nodes 18 --gpus 144 --out next.json
    """
    from .. import eplb as lib

    out = Output(json)
    if load is None:
        w = lib.sample_loads()
        out.hint("no LOAD given: planning the shipped sample (a generated Zipf-like DeepSeek-V3 load, 58 x 256)")
    else:
        w = lib.read_loads(load)
    if groups is None:
        groups = _profile(model).expert_groups if model else 1
    if replicas is None:
        replicas = w.shape[1] + (32 if w.shape[1] == 256 else 0)
    prev = lib.read_plan(previous, gpus=gpus, nodes=nodes) if previous else None
    if prev is not None:
        lib.check_plan_matches(prev.phy2log, w, replicas, file=str(previous))
        if prev.meta.get("gpus", gpus) != gpus or prev.meta.get("nodes", nodes) != nodes:
            raise InputError(f"plan is for {prev.meta.get('gpus')} GPUs on {prev.meta.get('nodes')} nodes, "
                             f"not {gpus} on {nodes}", file=str(previous), field="meta.gpus")
    if fmt not in lib.FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(lib.FORMATS)}", field="format")
    p = lib.plan(w, replicas, groups, nodes, gpus, policy=policy, hierarchical=hierarchical, previous=prev,
                 tolerance=tolerance)
    extra: dict = {}
    if prev is not None:
        eb, src = _expert_bytes(model, expert_bytes)
        d = lib.diff(prev, p, expert_bytes=eb)
        extra = {"copies": d["copies"], "bytes": d["bytes"], "expert_bytes_from": src}
    if out_file is not None:
        lib.write_plan(p, out_file, fmt)
        out.hint(f"wrote {out_file} ({fmt})")
    data = _summary(p, extra)
    out.emit(data, lambda o: o.kv({"policy": data["policy"], "layout": f"{p.layers} layers x {p.experts} experts -> "
                                   f"{replicas} slots on {gpus} GPUs / {nodes} nodes ({groups} groups)",
                                   "max/mean": f"{data['imbalance']['mean']:.4f} mean over layers, "
                                   f"{data['imbalance']['worst']:.4f} worst layer",
                                   **({"moves": f"{extra['copies']} expert copies, {extra['bytes'] / 2**30:.2f} GiB"}
                                      if extra else {}),
                                   "written": str(out_file) if out_file else "- (use --out)"}))


def _profile(model: str):
    from .. import profiles

    return profiles.model(model)


@app.command()
def evaluate(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="Plan file (native, sglang, vllm or trtllm).")],
    load: Annotated[Path, typer.Argument(help="Loads to evaluate the plan on.")],
    gpus: Annotated[Optional[int], typer.Option("--gpus", help="GPUs, for plan files without meta.")] = None,
    nodes: Annotated[Optional[int], typer.Option("--nodes", help="Nodes, for plan files without meta.")] = None,
    max_imbalance: Annotated[Optional[float], typer.Option("--max-imbalance", help="Exit 1 when overall max/mean is above this.")] = None,
    json: JsonOpt = False,
) -> None:
    """Max/mean GPU load of a plan on a load: per layer, per node and overall (the mean over layers).

    Examples:
      flyer eplb evaluate plan.json load.npy
      flyer eplb evaluate plan.json load.npy --max-imbalance 1.05
      flyer eplb evaluate sglang-plan.json dumps/ --gpus 32 --nodes 4 --json
    """
    from .. import eplb as lib

    out = Output(json)
    p = lib.read_plan(plan_file, gpus=gpus, nodes=nodes)
    r = lib.evaluate(p, lib.read_loads(load), file=str(plan_file))
    r["max_imbalance"] = max_imbalance
    r["ok"] = max_imbalance is None or r["overall"] <= max_imbalance

    def render(o: Output) -> None:
        o.kv({"overall max/mean": f"{r['overall']:.4f} (mean over {r['layers']} layers)",
              "worst layer": f"{r['worst']:.4f} (layer {r['worst_layer']})",
              "node max/mean": f"{r['node_overall']:.4f} ({r['nodes']} nodes)"})
        worst = sorted(range(r["layers"]), key=lambda i: -r["per_layer"][i])[:5]
        o.table(["layer", "GPU max/mean", "node max/mean"],
                [(i, r["per_layer"][i], r["per_node"][i]) for i in worst], title="Worst layers")

    out.emit(r, render)
    if not r["ok"]:
        raise CheckFailed(f"overall max/mean {r['overall']:.4f} is above --max-imbalance {max_imbalance}",
                          file=str(plan_file))


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The plan in place now.")],
    new: Annotated[Path, typer.Argument(help="The plan to move to.")],
    gpus: Annotated[Optional[int], typer.Option("--gpus", help="GPUs, for plan files without meta.")] = None,
    nodes: Annotated[Optional[int], typer.Option("--nodes", help="Nodes, for plan files without meta.")] = None,
    model: ModelOpt = None,
    expert_bytes: ExpertBytesOpt = None,
    json: JsonOpt = False,
) -> None:
    """Expert copies each GPU and node must fetch to go from OLD to NEW, and the bytes.

    Examples:
      flyer eplb diff plan.json next.json
      flyer eplb diff plan.json next.json --expert-bytes 88080384 --json
    """
    from .. import eplb as lib

    out = Output(json)
    a = lib.read_plan(old, gpus=gpus, nodes=nodes)
    b = lib.read_plan(new, gpus=gpus, nodes=nodes)
    if (a.gpus, a.nodes) != (b.gpus, b.nodes):
        raise InputError(f"{old} has {a.gpus} GPUs / {a.nodes} nodes, this has {b.gpus} / {b.nodes}",
                         file=str(new), field="meta.gpus")
    eb, src = _expert_bytes(model, expert_bytes)
    d = lib.diff(a, b, expert_bytes=eb)
    d["expert_bytes_from"] = src

    def render(o: Output) -> None:
        o.kv({"copies": f"{d['copies']} of {d['slots']} slots ({d['fraction'] * 100:.1f}%)",
              "bytes": f"{d['bytes'] / 2**30:.2f} GiB ({eb} bytes per expert, {src})"})
        o.table(["node", "copies", "GiB"], [(i, c, c * eb / 2**30) for i, c in enumerate(d["per_node"])],
                title="Per node")

    out.emit(d, render)


@app.command()
def rebalance(
    load: Annotated[Path, typer.Option("--load", help="New loads (file or directory of dumps).")],
    current: Annotated[Path, typer.Option("--current", help="The plan in place (native); replaced atomically.")],
    min_gain: Annotated[float, typer.Option("--min-gain", help="Replace only when max/mean improves by more than this fraction.")] = 0.02,
    max_moves: Annotated[Optional[int], typer.Option("--max-moves", help="At most this many expert copies.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Allowed max/mean above the best, as a fraction.")] = 0.01,
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
    from .. import eplb as lib

    out = Output(json)
    eb, _ = _expert_bytes(model, expert_bytes)
    r = lib.rebalance(load, current, min_gain=min_gain, max_moves=max_moves, tolerance=tolerance,
                      expert_bytes=eb, dry_run=dry_run)
    out.emit({**r.__dict__, "message": r.line()}, lambda o: o.line(r.line()))
