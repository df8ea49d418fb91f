"""Load inputs (JSON, YAML, CSV, .npy, .pt, SGLang dump directories) and plan files (native, sglang,
vllm, trtllm). Every reader raises InputError naming the file and field; every writer is atomic."""

from __future__ import annotations

import csv
import io as _io
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import InputError
from ..io import atomic_write, dumps_json, parse_document, read_bytes
from .solver import Plan, as_loads

LOAD_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".npy", ".pt")
FORMATS = ("native", "sglang", "vllm", "trtllm")


def _from_mapping(obj: Any, file: str) -> Any:
    """An object with ``logical_count`` ([L, E], or [steps, L, E] summed over steps)."""
    if isinstance(obj, dict):
        if "logical_count" not in obj:
            raise InputError(
                f"expected a [layers, experts] array or an object with logical_count, found keys "
                f"{sorted(map(str, obj))[:5]}",
                file=file,
                field="logical_count",
            )
        val = obj["logical_count"]
        if hasattr(val, "detach"):
            val = val.detach().cpu().numpy()
        arr = as_counts(val, file=file)
        return as_loads(arr, file=file, field_="logical_count")
    return as_loads(obj, file=file)


def as_counts(val: Any, *, file: str) -> np.ndarray:
    """``logical_count`` as [L, E], summing a leading steps axis ([steps, L, E], SGLang's recorder)."""
    try:
        arr = np.asarray(val)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"expected a [layers, experts] array of numbers ({e})", file=file, field="logical_count"
        ) from None
    if arr.ndim == 3 and arr.dtype.kind in "iuf":
        arr = arr.astype(np.float64).sum(axis=0)
    return arr


def read_loads(path: str | Path) -> np.ndarray:
    """One load file or a directory of them (summed, e.g. SGLang recorder dumps from several ranks)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in LOAD_SUFFIXES and f.is_file())
        if not files:
            raise InputError(f"no load files ({', '.join(LOAD_SUFFIXES)}) in this directory", file=str(p))
        total = None
        for f in files:
            arr = read_loads(f).astype(np.float64)
            if total is not None and arr.shape != total.shape:
                raise InputError(
                    f"shape {list(arr.shape)} differs from {list(total.shape)} in {files[0].name}",
                    file=str(f),
                    field="logical_count",
                )
            total = arr if total is None else total + arr
        return as_loads(total, file=str(p))
    name = str(p)
    suffix = p.suffix.lower()
    if suffix not in LOAD_SUFFIXES:
        raise InputError(
            f"unknown load format {suffix or '(none)'!r}; expected {', '.join(LOAD_SUFFIXES)} or a directory",
            file=name,
        )
    data = read_bytes(p, what="load file")
    if suffix in (".json", ".yaml", ".yml"):
        return _from_mapping(
            parse_document(data, file=name, fmt="json" if suffix == ".json" else "yaml"), name
        )
    if suffix == ".csv":
        try:
            text = data.decode("utf-8")
            rows = [r for r in csv.reader(_io.StringIO(text)) if r and any(c.strip() for c in r)]
        except (UnicodeDecodeError, csv.Error) as e:
            raise InputError(f"not a readable CSV file ({e})", file=name) from None
        try:
            float(rows[0][0])
        except ValueError:
            rows = rows[1:]  # a header row
        if not rows or len({len(r) for r in rows}) != 1:
            raise InputError("expected one row per layer, every row with one column per expert", file=name)
        try:
            arr = np.array([[float(c) for c in r] for r in rows])
        except ValueError as e:
            raise InputError(f"not a number ({e})", file=name) from None
        return as_loads(arr, file=name)
    if suffix == ".npy":
        try:
            arr = np.load(_io.BytesIO(data), allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - numpy raises several types for damaged files
            raise InputError(f"not a readable .npy file, truncated or damaged ({e})", file=name) from None
        return as_loads(arr, file=name)
    import torch  # NOTE: only .pt inputs need torch

    try:
        obj = torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises several types for damaged files
        raise InputError(
            f"not a readable .pt file, truncated or damaged ({type(e).__name__})", file=name
        ) from None
    return _from_mapping(obj, name)


def sample_loads(layers: int = 58, experts: int = 256, exponent: float = 1.0, seed: int = 0) -> np.ndarray:
    """The shipped sample: a seeded, generated Zipf-like load of DeepSeek-V3 shape (not recorded traffic).

    Each layer ranks its experts in a random order with load proportional to rank**-exponent, times 20%
    lognormal noise, scaled to about 4096 tokens x 8 experts per layer.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((layers, experts))
    base = np.arange(1, experts + 1, dtype=np.float64) ** -exponent
    for l in range(layers):
        row = rng.permutation(base) * rng.lognormal(0.0, 0.2, experts)
        out[l] = np.round(row / row.sum() * 4096 * 8)
    return out.astype(np.float32)


# ---- Plans ------------------------------------------------------------------------------------------------


def plan_document(plan: Plan, fmt: str = "native") -> tuple[str, str]:
    """The file text of a plan in one of FORMATS, and a short description of what loads it."""
    if fmt == "native":
        doc = {
            "physical_to_logical_map": plan.phy2log,
            "logical_to_all_physical_map": plan.log2phy,
            "logical_count": plan.logcnt,
            "meta": plan.meta,
        }
        return dumps_json(doc, indent=0), "fireflyer native plan"
    if fmt == "sglang":
        # NOTE: SGLang passes every key to init_by_mapping, so only the mapping goes in.
        return dumps_json(
            {"physical_to_logical_map": plan.phy2log}, indent=0
        ), "sglang --init-expert-location"
    if fmt == "vllm":
        doc = {
            "physical_to_logical_map": plan.phy2log,
            "logical_to_physical_map": plan.log2phy,
            "logical_replica_count": plan.logcnt,
        }
        return dumps_json(doc, indent=0), "vLLM EplbState maps"
    if fmt == "trtllm":
        doc = {
            "num_slots": plan.replicas,
            "layer_updates_per_iter": 0,
            "initial_global_assignments": {l: [int(x) for x in plan.phy2log[l]] for l in range(plan.layers)},
        }
        return yaml.safe_dump(
            doc, default_flow_style=None, sort_keys=True, width=1 << 20
        ), "TensorRT-LLM MoeLoadBalancerConfig YAML"
    raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format")


def write_plan(plan: Plan, path: str | Path, fmt: str = "native") -> Path:
    text, _ = plan_document(plan, fmt)
    return atomic_write(path, text)


def read_plan(path: str | Path, *, gpus: int | None = None, nodes: int | None = None) -> Plan:
    """Read a plan in any of FORMATS. GPUs and nodes come from ``meta`` (native) or the arguments."""
    p = Path(path)
    name = str(p)
    data = read_bytes(p, what="plan file")
    if p.suffix.lower() in (".yaml", ".yml"):
        obj = parse_document(data, file=name, fmt="yaml")
        if not isinstance(obj, dict) or "initial_global_assignments" not in obj:
            raise InputError(
                "expected a TensorRT-LLM plan with initial_global_assignments",
                file=name,
                field="initial_global_assignments",
            )
        ga = obj["initial_global_assignments"]
        try:
            rows = [ga[k] for k in sorted(ga, key=int)]
        except (TypeError, ValueError):
            raise InputError(
                "expected layer numbers as keys", file=name, field="initial_global_assignments"
            ) from None
        meta: dict = {}
    else:
        obj = parse_document(data, file=name, fmt="json")
        if not isinstance(obj, dict) or "physical_to_logical_map" not in obj:
            raise InputError(
                "expected a plan with physical_to_logical_map", file=name, field="physical_to_logical_map"
            )
        rows = obj["physical_to_logical_map"]
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputError("expected an object", file=name, field="meta")
    try:
        p2l = np.asarray(rows, dtype=np.int64)
    except (TypeError, ValueError):
        raise InputError(
            "expected [layers][replicas] integers", file=name, field="physical_to_logical_map"
        ) from None
    if p2l.ndim != 2 or p2l.size == 0:
        raise InputError(
            f"expected a non-empty [layers][replicas] array, got shape {list(p2l.shape)}",
            file=name,
            field="physical_to_logical_map",
        )
    for key, given in (("gpus", gpus), ("nodes", nodes)):
        if given is not None and key in meta and meta[key] != given:
            raise InputError(
                f"the plan is for {meta[key]} {key}, not {given}", file=name, field=f"meta.{key}"
            )
    gpus = gpus if gpus is not None else meta.get("gpus")
    nodes = nodes if nodes is not None else meta.get("nodes", 1)
    if not isinstance(gpus, int) or gpus <= 0:
        raise InputError(
            "GPU count unknown: the plan has no meta.gpus", file=name, field="meta.gpus", hint="pass --gpus"
        )
    if not isinstance(nodes, int) or nodes <= 0 or gpus % nodes:
        raise InputError(f"{gpus} GPUs is not a multiple of {nodes} nodes", file=name, field="meta.nodes")
    if p2l.shape[1] % gpus:
        raise InputError(
            f"{p2l.shape[1]} replicas is not a multiple of {gpus} GPUs",
            file=name,
            field="physical_to_logical_map",
        )
    if p2l.min() < 0:
        raise InputError("expert ids must be non-negative", file=name, field="physical_to_logical_map")
    experts = int(meta.get("experts") or p2l.max() + 1)
    cnt = np.zeros((p2l.shape[0], experts), dtype=np.int64)
    if p2l.max() >= experts:
        raise InputError(
            f"names expert {int(p2l.max())}, meta says {experts} experts",
            file=name,
            field="physical_to_logical_map",
        )
    for l in range(p2l.shape[0]):
        np.add.at(cnt[l], p2l[l], 1)
    k = int(cnt.max())
    l2p = np.full((p2l.shape[0], experts, k), -1, dtype=np.int64)
    for l in range(p2l.shape[0]):
        fill = np.zeros(experts, dtype=np.int64)
        for s, e in enumerate(p2l[l]):
            l2p[l, e, fill[e]] = s
            fill[e] += 1
    return Plan(p2l, l2p, cnt, gpus=gpus, nodes=nodes, groups=int(meta.get("groups", 1)), meta=meta)
