"""Expert loads in every form users and engines have them, and plans in the forms the engines load.

Loads: arrays (.npy, .json, .yaml, .csv, .pt), SGLang's expert-distribution recorder dumps (``stat``,
``per_pass`` and ``per_token`` modes; a file or a directory of them), TensorRT-LLM's expert statistics
(``meta_info.json`` and ``rankN.safetensors``) and vLLM's load window saved with ``torch.save``. Each keeps
the decoder-layer id of its rows where the format says it (SGLang: a row per decoder layer; TensorRT-LLM: its
keys).

Plans: ``native`` (fireflyer's JSON), ``sglang`` (``--init-expert-location``: JSON, or a ``torch.save``d dict
of tensors for a ``.pt`` path; a row for every decoder layer) and ``trtllm`` (the ``MoeLoadBalancerConfig``
YAML, keyed by decoder-layer id). Every reader raises InputError naming the file and the field; every writer
is atomic and deterministic.
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import host, profiles
from ..errors import InputError
from ..io import LIMITS, atomic_dir, atomic_write, dumps_json, load_document, parse_document, read_bytes
from .layouts import MAX_LAYERS, check_layer_ids
from .solver import Plan, as_loads, to_numpy

LOAD_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".npy", ".pt")
LOAD_FORMATS = ("npy", "json", "csv", "pt", "sglang", "trtllm", "vllm")
"""Formats ``write_loads`` writes (``flyer eplb sample``); ``read_loads`` reads them all."""
FORMATS = ("native", "sglang", "trtllm")
"""Plan formats."""
PLAN_SUFFIXES = {"native": (".json",), "sglang": (".json", ".pt"), "trtllm": (".yaml", ".yml")}
"""The suffixes a plan of each format is written to."""
TRTLLM_META = "meta_info.json"
ENGINE_STEPS = {
    "sglang": "SGLang reads the plan at start: restart the server with --init-expert-location {path} "
    "--ep-num-redundant-experts {redundant} (SGLang has no reload of a plan file)",
    "trtllm": "TensorRT-LLM reads the plan at start: restart with moe_config.load_balancer: {path} "
    "(moe_expert_parallel_size {gpus}) in the extra LLM API options",
}


@dataclass
class Loads:
    """Tokens per logical expert [rows, experts] (float32), and the decoder-layer id of each row where the
    input says (SGLang dumps: every decoder layer; TensorRT-LLM statistics: its keys), else None."""

    counts: np.ndarray
    layer_ids: np.ndarray | None
    source: str


# ---- Loads in -----------------------------------------------------------------------------------------


def load_paths(path: str | Path) -> list[Path]:
    """What ``read_loads(path)`` reads, for ``check_outputs``: a file of TensorRT-LLM statistics stands for
    its whole directory."""
    p = Path(path)
    return [p, p.parent] if p.name == TRTLLM_META or p.suffix == ".safetensors" else [p]


def read_loads(path: str | Path) -> Loads:
    """One load file, SGLang dumps (a file or a directory of them, summed) or TensorRT-LLM statistics (their
    directory or its meta_info.json)."""
    p = Path(path)
    if p.is_dir():
        if (p / TRTLLM_META).exists():
            return _read_trtllm(p)
        # NOTE: FIFOs and device links are kept, so that reading refuses them rather than skip data.
        files = sorted(f for f in p.iterdir() if f.suffix in LOAD_SUFFIXES and not f.is_dir())
        if not files:
            raise InputError(
                f"no load files ({', '.join(LOAD_SUFFIXES)}) and no TensorRT-LLM {TRTLLM_META} "
                "in this directory",
                file=str(p),
            )
        first = _read_file(files[0])
        total = first.counts.astype(np.float64)
        for f in files[1:]:
            part = _read_file(f)  # NOTE: one at a time: memory for one dump, however many there are
            if part.counts.shape != first.counts.shape:
                raise InputError(
                    f"shape {list(part.counts.shape)} differs from {list(first.counts.shape)} "
                    f"in {files[0].name}",
                    file=str(f),
                    field="logical_count",
                )
            if (part.layer_ids is None) != (first.layer_ids is None) or (
                part.layer_ids is not None and not np.array_equal(part.layer_ids, first.layer_ids)
            ):
                raise InputError(f"its layers differ from those of {files[0].name}", file=str(f))
            total += part.counts
        source = first.source if len(files) == 1 else f"{len(files)} files ({first.source}), summed"
        return Loads(as_loads(total, file=str(p)), first.layer_ids, source)
    if p.name == TRTLLM_META or p.suffix == ".safetensors":
        return _read_trtllm(p.parent)
    return _read_file(p)


def _read_file(p: Path) -> Loads:
    name = str(p)
    suffix = p.suffix.lower()
    if suffix not in LOAD_SUFFIXES:
        raise InputError(
            f"unknown load format {suffix or '(none)'!r}; expected {', '.join(LOAD_SUFFIXES)}, "
            f"a directory of dumps or TensorRT-LLM statistics",
            file=name,
        )
    # NOTE: text becomes Python objects many times its size: text loads get the cap of a document.
    text = suffix in (".json", ".yaml", ".yml", ".csv")
    data = read_bytes(p, what="load file", limit=LIMITS["document" if text else "load"])
    if suffix in (".json", ".yaml", ".yml"):
        obj = parse_document(data, file=name, fmt="json" if suffix == ".json" else "yaml")
        if isinstance(obj, dict):
            if "logical_count" not in obj:
                raise InputError(
                    f"expected a [layers, experts] array or an object with logical_count, found keys "
                    f"{sorted(map(str, obj))[:5]}",
                    file=name,
                    field="logical_count",
                )
            return Loads(_counts(obj["logical_count"], name, "logical_count"), None, suffix[1:])
        return Loads(as_loads(obj, file=name), None, suffix[1:])
    if suffix == ".csv":
        return Loads(_read_csv(data, name), None, "csv")
    if suffix == ".npy":
        return Loads(as_loads(_read_npy(data, name), file=name), None, "npy")
    return _from_torch(_torch_load(data, name), name)


def _read_npy(data: bytes, name: str) -> np.ndarray:
    """An .npy array whose header's shape and type agree with the bytes that follow (checked before numpy
    allocates the array the header describes); no pickled objects."""
    import numpy.lib.format as npy

    buf = _io.BytesIO(data)
    try:
        version = npy.read_magic(buf)
        header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}[version]
        shape, _, dtype = header(buf, max_header_size=10_000)
    except Exception as e:  # noqa: BLE001 - numpy raises several types for damaged headers
        raise InputError(f"not a readable .npy file, damaged header ({e})", file=name) from None
    if dtype.hasobject:
        raise InputError(f"holds Python objects ({dtype}); expected numbers", file=name)
    need = math.prod(shape) * dtype.itemsize
    if need != len(data) - buf.tell():
        raise InputError(
            f"its header says {list(shape)} {dtype} ({need:,} bytes), the file holds "
            f"{len(data) - buf.tell():,} bytes after it: truncated or damaged",
            file=name,
        )
    host.check_fits(2.0 * need, "this load (read, then converted to float32)")
    try:
        return np.load(_io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - numpy raises several types for damaged files
        raise InputError(f"not a readable .npy file, truncated or damaged ({e})", file=name) from None


def _read_csv(data: bytes, name: str) -> np.ndarray:
    try:
        text = data.decode("utf-8")
        rows = [r for r in csv.reader(_io.StringIO(text)) if r and any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"not a readable CSV file ({e})", file=name) from None
    if rows:
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


def _torch_load(data: bytes, name: str) -> Any:
    import torch  # NOTE: only .pt files need torch

    try:
        return torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError("holds Python objects other than tensors, which are not loaded", file=name) from None
    except Exception as e:  # noqa: BLE001 - torch raises several types for damaged files
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise InputError(f"not a readable .pt file, truncated or damaged ({why})", file=name) from None


def _numpy(val: Any, name: str, field: str) -> np.ndarray:
    try:
        arr = to_numpy(val)
    except (TypeError, ValueError) as e:
        raise InputError(f"expected an array of numbers ({e})", file=name, field=field) from None
    if arr.dtype.kind not in "iuf":
        raise InputError(f"expected numbers, got {arr.dtype}", file=name, field=field)
    return arr


def _counts(val: Any, name: str, field: str) -> np.ndarray:
    """[layers, experts], or [steps, layers, experts] summed over steps (SGLang's recorder)."""
    arr = _numpy(val, name, field)
    if arr.ndim == 3:
        arr = arr.astype(np.float64).sum(axis=0)
    return as_loads(arr, file=name, field_=field)


def _counts_of(val: Any, shape: tuple, name: str, field: str) -> np.ndarray:
    """Counts per physical slot, as float64, of exactly ``shape`` (the map's [layers, slots], or
    [window, layers, slots]); InputError naming ``field`` otherwise (never broadcast)."""
    arr = _numpy(val, name, field)
    if arr.shape != shape:
        want = ", ".join("window" if d is None else str(d) for d in shape)
        raise InputError(
            f"expected counts shaped [{want}] as the map's [layers, slots], got {list(arr.shape)}",
            file=name,
            field=field,
        )
    return arr.astype(np.float64)


def _physical_to_logical(c: np.ndarray, phy2log: np.ndarray) -> np.ndarray:
    """Counts per physical slot [layers, slots] -> per logical expert [layers, experts]; slots mapped to -1
    (vLLM's padding) are dropped. ``phy2log`` was checked by ``_rows`` (ids below the slot count)."""
    experts = int(phy2log.max()) + 1
    out = np.zeros((phy2log.shape[0], experts))
    for layer in range(phy2log.shape[0]):
        keep = phy2log[layer] >= 0
        np.add.at(out[layer], phy2log[layer][keep], c[layer][keep])
    return out


def _from_torch(obj: Any, name: str) -> Loads:
    if not isinstance(obj, dict):
        if hasattr(obj, "dim") and obj.dim() != 2:
            raise InputError(
                f"expected a [layers, experts] tensor, got shape {list(obj.shape)}",
                file=name,
                hint="a vLLM load window needs its map: save {'expert_load_window': ..., "
                "'physical_to_logical_map': ...}",
            )
        return Loads(as_loads(_numpy(obj, name, "weight"), file=name), None, "pt")
    if "records" in obj:  # SGLang per_pass / per_token recorder dump
        if "last_physical_to_logical_map" not in obj:
            raise InputError(
                "an SGLang per_pass dump needs its last_physical_to_logical_map",
                file=name,
                field="last_physical_to_logical_map",
            )
        phy2log = _rows(obj["last_physical_to_logical_map"], name, "last_physical_to_logical_map")
        records = obj["records"]
        if not isinstance(records, list) or not records:
            raise InputError("expected a non-empty list of records", file=name, field="records")
        total = np.zeros(phy2log.shape)
        for i, rec in enumerate(records):
            if not isinstance(rec, dict) or "global_physical_count" not in rec:
                raise InputError("expected a global_physical_count", file=name, field=f"records[{i}]")
            # NOTE: SGLang 0.5.23 records [layers, slots] per pass; any other shape would broadcast.
            total += _counts_of(
                rec["global_physical_count"], phy2log.shape, name, f"records[{i}].global_physical_count"
            )
        counts = _physical_to_logical(total, phy2log)
        rows = counts.shape[0]
        return Loads(as_loads(counts, file=name), np.arange(rows), "SGLang per_pass dump")
    if "expert_load_window" in obj:  # vLLM EplbModelState fields
        if "physical_to_logical_map" not in obj:
            raise InputError(
                "a vLLM load window needs the physical_to_logical_map it was recorded under",
                file=name,
                field="physical_to_logical_map",
            )
        phy2log = _rows(obj["physical_to_logical_map"], name, "physical_to_logical_map", padding=True)
        raw = obj["expert_load_window"]
        steps = getattr(raw, "shape", (None,))[0] if getattr(raw, "ndim", 0) == 3 else None
        window = _counts_of(raw, (steps, *phy2log.shape), name, "expert_load_window")
        counts = _physical_to_logical(window.sum(axis=0), phy2log)
        return Loads(as_loads(counts, file=name), None, "vLLM load window")
    if "logical_count" in obj:
        raw = _numpy(obj["logical_count"], name, "logical_count")
        if raw.ndim == 3:  # SGLang stat dump: [steps, decoder layers, experts]
            counts = _counts(raw, name, "logical_count")
            return Loads(counts, np.arange(counts.shape[0]), "SGLang stat dump")
        return Loads(_counts(raw, name, "logical_count"), None, "pt")
    raise InputError(
        "expected a tensor, an SGLang recorder dump (logical_count or records), or a vLLM load window "
        f"(expert_load_window); found keys {sorted(map(str, obj))[:5]}",
        file=name,
    )


def _key(key: str) -> tuple[int, int]:
    i, _, layer = key.partition("_")
    return int(i), int(layer)


def _rank_files(d: Path) -> list[Path]:
    """rank0.safetensors .. rankN-1.safetensors, each present: a missing rank's counts would be missing from
    the sums."""
    found: dict[int, Path] = {}
    for f in d.glob("rank*.safetensors"):
        m = re.fullmatch(r"rank(\d{1,9})\.safetensors", f.name)
        if m is None:
            raise InputError("expected rank files named rankN.safetensors", file=str(f))
        found[int(m[1])] = f
    if not found:
        raise InputError("no rank*.safetensors beside meta_info.json", file=str(d))
    gaps = sorted(set(range(max(found) + 1)) - set(found))
    if gaps:
        raise InputError(
            f"rank{gaps[0]}.safetensors is missing ({len(found)} rank files up to rank{max(found)}): the "
            "statistics are incomplete",
            file=str(d),
        )
    return [found[r] for r in sorted(found)]


def _read_trtllm(d: Path) -> Loads:
    """TensorRT-LLM's expert statistics: ``meta_info.json`` and ``rankN.safetensors`` with a [num_experts]
    count per ``{iteration}_{layer}`` key; summed over ranks and iterations, rows keyed by layer id."""
    import safetensors.numpy

    meta_file = d / TRTLLM_META
    meta = load_document(meta_file, what="TensorRT-LLM meta_info.json", fmt="json")
    experts = meta.get("num_experts") if isinstance(meta, dict) else None
    if type(experts) is not int or experts <= 0:
        raise InputError(
            f"expected a positive integer, got {experts!r}", file=str(meta_file), field="num_experts"
        )
    files = _rank_files(d)
    stat: dict[tuple[int, int], np.ndarray] = {}
    held: dict[Path, set[tuple[int, int]]] = {}
    for f in files:
        data = read_bytes(f, what="TensorRT-LLM statistics file", limit=LIMITS["load"])
        try:
            tensors = safetensors.numpy.load(data)
        except Exception as e:  # noqa: BLE001 - safetensors raises several types for damaged files
            raise InputError(f"not a readable safetensors file ({e})", file=str(f)) from None
        for key, arr in tensors.items():
            m = re.fullmatch(r"(\d{1,18})_(\d{1,18})", key)
            if m is None:
                raise InputError("expected keys {iteration}_{layer}", file=str(f), field=key)
            check_layer_ids([int(m[2])], file=str(f), field=key)
            if arr.shape != (experts,) or arr.dtype.kind not in "iuf":
                raise InputError(
                    f"expected [{experts}] counts (meta_info.json num_experts), got "
                    f"{list(arr.shape)} {arr.dtype}",
                    file=str(f),
                    field=key,
                )
            k = (int(m[1]), int(m[2]))
            stat[k] = stat[k] + arr if k in stat else arr.astype(np.float64)
        held[f] = {_key(key) for key in tensors}
    for f in files:
        lacks = sorted(set(stat) - held[f])
        if lacks:
            i, layer = lacks[0]
            raise InputError(
                f"lacks {len(lacks)} of the {len(stat)} {{iteration}}_{{layer}} counts other ranks hold, "
                f"e.g. {i}_{layer}: every rank must record the same iterations and layers",
                file=str(f),
                field=f"{i}_{layer}",
            )
    iters = sorted({i for i, _ in stat})
    layers = sorted({layer for _, layer in stat})
    missing = [f"{i}_{layer}" for i in iters for layer in layers if (i, layer) not in stat]
    if missing:
        raise InputError(
            f"{len(missing)} (iteration, layer) counts missing, e.g. {missing[0]}",
            file=str(d),
            field=missing[0],
        )
    counts = np.stack([sum(stat[(i, layer)] for i in iters) for layer in layers])
    ranks = f"{len(files)} rank{'s' if len(files) > 1 else ''}"
    source = f"TensorRT-LLM statistics ({ranks}, iterations {iters[0]}..{iters[-1]})"
    return Loads(as_loads(counts, file=str(d)), np.asarray(layers, dtype=np.int64), source)


# ---- Loads out (the samples) --------------------------------------------------------------------------


def _integral(counts: np.ndarray) -> np.ndarray:
    return counts.astype(np.int64) if np.all(counts == np.round(counts)) else counts.astype(np.float32)


def _torch_bytes(obj: Any) -> bytes:
    import torch

    buf = _io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def write_loads(
    counts: np.ndarray,
    path: str | Path,
    fmt: str,
    *,
    layer_ids: np.ndarray,
    decoder_layers: int,
    experts_per_token: int,
) -> list[Path]:
    """Write loads [rows, experts] (rows for ``layer_ids``) in one of LOAD_FORMATS; returns the files written.

    ``sglang``: an SGLang ``stat`` recorder dump (one step, a row for each of ``decoder_layers``);
    ``trtllm``: a TensorRT-LLM statistics directory (one rank, one iteration); ``vllm``: a vLLM load window
    with the identity map; the rest: the [rows, experts] array."""
    p = Path(path)
    c = _integral(np.asarray(counts))
    ids = np.asarray(layer_ids, dtype=np.int64)
    if fmt == "npy":
        buf = _io.BytesIO()
        np.save(buf, c.astype(np.int32) if c.dtype.kind == "i" else c, allow_pickle=False)
        return [atomic_write(p, buf.getvalue())]
    if fmt == "json":
        return [atomic_write(p, dumps_json(c.tolist(), indent=0))]
    if fmt == "csv":
        out = _io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(c.tolist())
        return [atomic_write(p, out.getvalue())]
    import torch

    if fmt == "pt":
        return [atomic_write(p, _torch_bytes(torch.from_numpy(c)))]
    if fmt == "sglang":
        full = np.zeros((1, decoder_layers, c.shape[1]), dtype=np.int32)
        full[0, ids] = c
        dump = {
            "rank": 0,
            "logical_count": torch.from_numpy(full),
            "average_utilization_rate_over_window": None,
        }
        return [atomic_write(p, _torch_bytes(dump))]
    if fmt == "vllm":
        window = torch.from_numpy(c.astype(np.int64)[None])
        phy2log = torch.arange(c.shape[1]).repeat(c.shape[0], 1)
        return [
            atomic_write(p, _torch_bytes({"expert_load_window": window, "physical_to_logical_map": phy2log}))
        ]
    if fmt == "trtllm":
        import safetensors.numpy

        if p.exists() and not p.is_dir():
            raise InputError("TensorRT-LLM statistics are a directory; this is a file", file=str(p))
        tensors = {f"0_{int(layer)}": c[i].astype(np.int64) for i, layer in enumerate(ids)}
        meta_text = json.dumps({"num_experts": int(c.shape[1]), "num_experts_per_token": experts_per_token})
        with atomic_dir(p) as tmp:  # both files or neither
            (tmp / TRTLLM_META).write_text(meta_text + "\n")
            (tmp / "rank0.safetensors").write_bytes(safetensors.numpy.save(tensors))
        return [p / TRTLLM_META, p / "rank0.safetensors"]
    raise InputError(
        f"unknown load format {fmt!r}; expected one of {', '.join(LOAD_FORMATS)}", field="format"
    )


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
    host.check_fits(8.0 * total * plan.replicas, "SGLang's physical_to_logical_map", field="layer_ids")
    table = np.tile(np.arange(plan.replicas, dtype=np.int64) % plan.experts, (total, 1))
    table[ids] = plan.phy2log
    return table


def plan_format(fmt: str | None, path: str | Path | None = None) -> str:
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

            data = _torch_bytes({"physical_to_logical_map": torch.from_numpy(table)})
            return data, "SGLang --init-expert-location (torch.load, weights_only)"
        return dumps_json({"physical_to_logical_map": table}, indent=0), "SGLang --init-expert-location"
    if fmt == "trtllm":
        doc = {
            "num_slots": plan.replicas,
            "layer_updates_per_iter": 0,
            "initial_global_assignments": {
                int(layer): [int(x) for x in row]
                for layer, row in zip(plan.layer_ids, plan.phy2log)  # type: ignore[arg-type]
            },
        }
        text = yaml.safe_dump(doc, default_flow_style=None, sort_keys=True, width=1 << 20)
        return text, "TensorRT-LLM moe_config.load_balancer (MoeLoadBalancerConfig)"
    raise InputError(f"unknown plan format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format")


def write_plan(plan: Plan, path: str | Path, fmt: str = "native") -> Path:
    data, _ = plan_document(plan, fmt, suffix=Path(path).suffix)
    return atomic_write(path, data)


def engine_step(fmt: str, path: str | Path, plan: Plan) -> str | None:
    """What to do after writing a plan of format ``fmt`` at ``path`` for the engine to use it (None for
    fireflyer's own format)."""
    step = ENGINE_STEPS.get(fmt)
    return step and step.format(path=path, redundant=plan.replicas - plan.experts, gpus=plan.gpus)


# ---- Plans in -----------------------------------------------------------------------------------------


def read_plan(
    path: str | Path,
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
        rows = [ga[k] for k in ids]
        slots = obj.get("num_slots")
        if slots is not None and any(isinstance(r, list) and len(r) != slots for r in rows):
            raise InputError(
                f"every layer must list num_slots ({slots}) experts", file=name, field="num_slots"
            )
    elif suffix == ".pt":
        fmt = "sglang"
        obj = _torch_load(data, name)
        if not isinstance(obj, dict) or "physical_to_logical_map" not in obj:
            raise InputError(
                "expected SGLang's {'physical_to_logical_map': tensor}",
                file=name,
                field="physical_to_logical_map",
            )
        rows = _numpy(obj["physical_to_logical_map"], name, "physical_to_logical_map")
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
    p2l = _rows(rows, name)
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


def _rows(
    rows: Any, name: str, field: str = "physical_to_logical_map", *, padding: bool = False
) -> np.ndarray:
    """A map [layers][slots] of expert ids, each below the slot count (a layer holds at most as many experts
    as slots; a larger id would size every array indexed by expert), -1 allowed where ``padding`` (vLLM)."""
    try:
        p2l = to_numpy(rows)
    except (TypeError, ValueError):
        p2l = np.zeros(0)
    if p2l.dtype.kind not in "iu" or p2l.ndim != 2 or p2l.size == 0:
        raise InputError(
            f"expected a non-empty [layers][slots] array of integers, got shape {list(p2l.shape)}",
            file=name,
            field=field,
        )
    low = -1 if padding else 0
    bad = (p2l < low) | (p2l >= p2l.shape[1])
    if bad.any():
        raise InputError(
            f"names expert {int(p2l[bad][0])}; a map of {p2l.shape[1]} slots holds experts "
            f"0..{p2l.shape[1] - 1}{' (and -1 for an unused slot)' if padding else ''}",
            file=name,
            field=field,
        )
    return p2l.astype(np.int64)


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
