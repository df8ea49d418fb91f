"""Plans in the forms the engines load: ``native`` (fireflyer's JSON), ``sglang`` (``--init-expert-location``:
JSON, or a ``torch.save``d dict of tensors for a ``.pt`` path; a row for every decoder layer) and ``trtllm``
(the ``MoeLoadBalancerConfig`` YAML, keyed by decoder-layer id). ``read_plan`` reads each (InputError naming
the file and the field); every writer is atomic and deterministic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ... import host, profiles
from ...compat import StrEnum
from ...errors import InputError
from ...io import LIMITS, atomic_write, dumps_json, parse_document, read_bytes
from ..layouts import MAX_LAYERS, check_layer_ids
from ..solver import Plan
from .common import numbers, slot_map, torch_bytes, torch_load


class PlanFormat(StrEnum):
    """Plan formats: fireflyer's JSON, SGLang's ``--init-expert-location`` file, TensorRT-LLM's YAML."""

    NATIVE = "native"
    SGLANG = "sglang"
    TRTLLM = "trtllm"


FORMATS = tuple(f.value for f in PlanFormat)
PLAN_SUFFIXES = {"native": (".json",), "sglang": (".json", ".pt"), "trtllm": (".yaml", ".yml")}
"""The suffixes a plan of each format is written to."""
ENGINE_STEPS = {
    "sglang": "SGLang reads the plan at start: restart the server with --init-expert-location {path} "
    "--ep-num-redundant-experts {redundant} (SGLang has no reload of a plan file)",
    "trtllm": "TensorRT-LLM reads the plan at start: restart with moe_config.load_balancer: {path} "
    "(moe_expert_parallel_size {gpus}) in the extra LLM API options",
}


# ---- Plans out ----------------------------------------------------------------------------------------


def sglang_table(plan: Plan) -> np.ndarray:
    """SGLang's physical_to_logical_map: a row for every decoder layer (SGLang indexes it by layer id);
    rows of layers the plan does not cover (dense layers) hold the trivial map SGLang itself uses (slot p:
    p % E)."""
    ids = plan.layer_ids
    total = plan.decoder_layers if plan.decoder_layers is not None else int(ids.max()) + 1  # type: ignore[union-attr]
    if int(ids.max()) >= total or total > MAX_LAYERS:  # type: ignore[union-attr]
        raise InputError(
            f"the plan has a row for decoder layer {int(ids.max())} of {total} (at most {MAX_LAYERS})",  # type: ignore[union-attr]
            field="layer_ids",
        )
    host.check_fits(8.0 * total * plan.slots, "SGLang's physical_to_logical_map", field="layer_ids")
    table = np.tile(np.arange(plan.slots, dtype=np.int64) % plan.experts, (total, 1))
    table[ids] = plan.phy2log
    return table


def plan_format(fmt: str | None, path: str | os.PathLike | None = None) -> str:
    """The format of a plan to write to ``path``: ``fmt``, else what the suffix says (.yaml or .yml: trtllm,
    .pt: sglang, else native). The two must agree."""
    suffix = Path(path).suffix.lower() if path is not None else ""
    fmt = fmt or next((f for f in FORMATS if suffix in PLAN_SUFFIXES[f]), "native")
    if fmt not in FORMATS:
        hint = (
            "vLLM reads no plan file: it plans in-process with FLYER_VLLM_EPLB=balanced"
            if fmt == "vllm"
            else None
        )
        raise InputError(
            f"unknown plan format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format", hint=hint
        )
    if path is not None and suffix not in PLAN_SUFFIXES[fmt]:
        raise InputError(
            f"a {fmt} plan is written to {' or '.join(PLAN_SUFFIXES[fmt])}, not {suffix or 'no suffix'}",
            file=str(path),
            field="out",
        )
    return fmt


def plan_document(plan: Plan, fmt: str = "native", *, suffix: str = ".json") -> tuple[bytes | str, str]:
    """The file content of a plan in one of FORMATS (``sglang`` with a ``.pt`` suffix: torch.save bytes), and
    what loads it."""
    doc: dict[str, Any]
    if fmt == "native":
        doc = {
            "physical_to_logical_map": plan.phy2log,
            "logical_to_all_physical_map": plan.log2phy,
            "logical_count": plan.logcnt,
            "layer_ids": plan.layer_ids,
            "meta": {
                **{k: v for k, v in plan.meta.items() if k not in ("format", "layer_ids")},
                "decoder_layers": plan.decoder_layers,
                "gpus": plan.gpus,
                "nodes": plan.nodes,
            },
        }
        return dumps_json(doc, indent=0), "fireflyer native plan"
    if fmt == "sglang":
        # NOTE: SGLang passes every key to ExpertLocationMetadata.init_by_mapping, so only the map goes in.
        table = sglang_table(plan)
        if suffix.lower() == ".pt":
            import torch

            data = torch_bytes({"physical_to_logical_map": torch.from_numpy(table)})
            return data, "SGLang --init-expert-location (torch.load, weights_only)"
        return dumps_json({"physical_to_logical_map": table}, indent=0), "SGLang --init-expert-location"
    if fmt == "trtllm":
        doc = {
            "num_slots": plan.slots,
            "layer_updates_per_iter": 0,
            "initial_global_assignments": {
                int(layer): [int(x) for x in row]
                for layer, row in zip(plan.layer_ids, plan.phy2log)  # type: ignore[arg-type]
            },
        }
        text = yaml.safe_dump(doc, default_flow_style=None, sort_keys=True, width=1 << 20)
        return text, "TensorRT-LLM moe_config.load_balancer (MoeLoadBalancerConfig)"
    raise InputError(f"unknown plan format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format")


def write_plan(plan: Plan, path: str | os.PathLike, fmt: str = "native") -> Path:
    data, _ = plan_document(plan, fmt, suffix=Path(path).suffix)
    return atomic_write(path, data)


def engine_step(fmt: str, path: str | os.PathLike, plan: Plan) -> str | None:
    """What to do after writing a plan of format ``fmt`` at ``path`` for the engine to use it (None for
    fireflyer's own format)."""
    step = ENGINE_STEPS.get(fmt)
    return step and step.format(path=os.fspath(path), redundant=plan.slots - plan.experts, gpus=plan.gpus)


# ---- Plans in -----------------------------------------------------------------------------------------


def read_plan(
    path: str | os.PathLike,
    *,
    gpus: int | None = None,
    nodes: int | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
) -> Plan:
    """A plan in any of FORMATS (by content: native has ``meta``, SGLang only the map, TensorRT-LLM is YAML).

    GPUs and nodes come from ``meta`` (native) or the arguments. SGLang's table has a row per decoder layer;
    with ``model`` (or ``first_moe_layer``) its dense layers' rows are left out (writing it back restores
    them).
    ``plan.meta["format"]`` says which format was read."""
    p = Path(path)
    name = str(p)
    data = read_bytes(p, what="plan file", limit=LIMITS["plan"])
    suffix = p.suffix.lower()
    meta: dict = {}
    log2phy = None
    decoder_layers = None
    if suffix in (".yaml", ".yml"):
        fmt = "trtllm"
        obj = parse_document(data, file=name, fmt="yaml")
        if not isinstance(obj, dict) or "initial_global_assignments" not in obj:
            raise InputError(
                "expected a TensorRT-LLM plan with initial_global_assignments",
                file=name,
                field="initial_global_assignments",
            )
        ga = obj["initial_global_assignments"]
        if not isinstance(ga, dict) or not ga or not all(type(k) is int for k in ga):
            raise InputError(
                "expected a mapping from layer ids (non-negative integers) to slot lists",
                file=name,
                field="initial_global_assignments",
            )
        ids = check_layer_ids(sorted(ga), file=name, field="initial_global_assignments")
        rows: list[Any] | np.ndarray = [ga[k] for k in ids]
        slots = obj.get("num_slots")
        if slots is not None and any(isinstance(r, list) and len(r) != slots for r in rows):
            raise InputError(
                f"every layer must list num_slots ({slots}) experts", file=name, field="num_slots"
            )
    elif suffix == ".pt":
        fmt = "sglang"
        obj = torch_load(data, name)
        if not isinstance(obj, dict) or "physical_to_logical_map" not in obj:
            raise InputError(
                "expected SGLang's {'physical_to_logical_map': tensor}",
                file=name,
                field="physical_to_logical_map",
            )
        rows = numbers(obj["physical_to_logical_map"], name, "physical_to_logical_map")
        ids = np.arange(len(rows), dtype=np.int64)
    else:
        obj = parse_document(data, file=name, fmt="json")
        if not isinstance(obj, dict) or "physical_to_logical_map" not in obj:
            raise InputError(
                "expected a plan with physical_to_logical_map", file=name, field="physical_to_logical_map"
            )
        rows = obj["physical_to_logical_map"]
        if "meta" in obj:
            fmt = "native"
            meta = obj["meta"]
            if not isinstance(meta, dict):
                raise InputError("expected an object", file=name, field="meta")
            if not isinstance(meta.get("hierarchical", False), bool):
                raise InputError(
                    f"expected true or false, got {meta['hierarchical']!r}",
                    file=name,
                    field="meta.hierarchical",
                )
            raw_ids = obj.get("layer_ids")
            ids = np.arange(len(rows)) if raw_ids is None else _ids(raw_ids, name)
            decoder_layers = _meta_int(meta, "decoder_layers", name, high=MAX_LAYERS)
            log2phy = obj.get("logical_to_all_physical_map")
        else:
            fmt = "sglang"
            ids = np.arange(len(rows), dtype=np.int64) if isinstance(rows, list) else np.zeros(0, np.int64)
    p2l = slot_map(rows, name)
    if len(ids) != p2l.shape[0]:
        raise InputError(f"{len(ids)} layer ids for {p2l.shape[0]} rows", file=name, field="layer_ids")
    if fmt == "sglang":
        decoder_layers = p2l.shape[0]
        first = first_moe_layer
        if model is not None:
            prof = profiles.model(model)
            if p2l.shape[0] != prof.layers:
                raise InputError(
                    f"SGLang plans have a row per decoder layer: {p2l.shape[0]} rows, model {prof.name} has "
                    f"{prof.layers} layers",
                    file=name,
                    field="physical_to_logical_map",
                )
            first = prof.first_moe_layer if first is None else first
        if first:
            ids, p2l = ids[first:], p2l[first:]
    for key, given in (("gpus", gpus), ("nodes", nodes)):
        if given is not None and key in meta and meta[key] != given:
            raise InputError(
                f"the plan is for {meta[key]} {key}, not {given}", file=name, field=f"meta.{key}"
            )
    gpus = gpus if gpus is not None else _meta_int(meta, "gpus", name)
    nodes = nodes if nodes is not None else _meta_int(meta, "nodes", name) or 1
    if not isinstance(gpus, int) or gpus <= 0:
        raise InputError(
            f"GPU count unknown: a {fmt} plan does not say it", file=name, field="gpus", hint="pass --gpus"
        )
    if not isinstance(nodes, int) or nodes <= 0 or gpus % nodes:
        raise InputError(f"{gpus} GPUs is not a multiple of {nodes} nodes", file=name, field="nodes")
    if p2l.shape[1] % gpus:
        raise InputError(
            f"{p2l.shape[1]} slots is not a multiple of {gpus} GPUs",
            file=name,
            field="physical_to_logical_map",
        )
    experts = _meta_int(meta, "experts", name, high=p2l.shape[1]) or int(p2l.max()) + 1
    if p2l.max() >= experts:
        raise InputError(
            f"names expert {int(p2l.max())}, meta says {experts} experts",
            file=name,
            field="physical_to_logical_map",
        )
    groups = _meta_int(meta, "groups", name) or 1
    if decoder_layers is not None and int(ids.max()) >= decoder_layers:
        raise InputError(
            f"has a row for decoder layer {int(ids.max())}, meta says {decoder_layers} decoder layers",
            file=name,
            field="layer_ids",
        )
    cnt = np.zeros((p2l.shape[0], experts), dtype=np.int64)
    for layer in range(p2l.shape[0]):
        np.add.at(cnt[layer], p2l[layer], 1)
    l2p = _log2phy(p2l, cnt, log2phy)
    meta = {**meta, "format": fmt}
    return Plan(
        p2l,
        l2p,
        cnt,
        gpus=gpus,
        nodes=nodes,
        groups=groups,
        meta=meta,
        layer_ids=ids,
        decoder_layers=decoder_layers,
    )


def _meta_int(meta: dict, key: str, name: str, *, high: int = 2**31 - 1) -> int | None:
    """A count in a native plan's meta (absent: None), a whole number in 1..high (the core holds counts in
    32 bits; experts are at most the slots, decoder layers at most MAX_LAYERS)."""
    v = meta.get(key)
    if v is not None and (type(v) is not int or not 1 <= v <= high):
        raise InputError(f"expected a whole number in 1..{high}, got {v!r}", file=name, field=f"meta.{key}")
    return v


def _ids(raw: Any, name: str) -> np.ndarray:
    ids = check_layer_ids(raw, file=name)
    if ids.ndim != 1 or len(set(ids.tolist())) != ids.size:
        raise InputError("expected distinct non-negative layer ids", file=name, field="layer_ids")
    return ids


def _log2phy(p2l: np.ndarray, cnt: np.ndarray, given: Any) -> np.ndarray:
    """Each expert's slots: the file's order where it lists exactly those slots (native plans keep DeepSeek's
    replica order), else ascending."""
    L, E = cnt.shape
    k = int(cnt.max())
    host.check_fits(
        8.0 * L * E * k, "the plan's logical_to_all_physical_map", field="physical_to_logical_map"
    )
    if given is not None:
        try:
            arr = np.asarray(given, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            arr = None
        if arr is not None and arr.shape == (L, E, k) and arr.max() < p2l.shape[1]:
            valid = arr >= 0
            rows = np.broadcast_to(np.arange(L)[:, None, None], arr.shape)
            names = p2l[rows, np.where(valid, arr, 0)] == np.arange(E)[None, :, None]
            distinct = all(np.unique(arr[layer][valid[layer]]).size == p2l.shape[1] for layer in range(L))
            if (valid.sum(axis=2) == cnt).all() and (names | ~valid).all() and distinct:
                return arr
    l2p = np.full((L, E, k), -1, dtype=np.int64)
    for layer in range(L):
        fill = np.zeros(E, dtype=np.int64)
        for s, e in enumerate(p2l[layer]):
            l2p[layer, e, fill[e]] = s
            fill[e] += 1
    return l2p
