"""Expert loads in every form users and engines have them: arrays (.npy, .json, .yaml, .csv, .pt), SGLang's
expert-distribution recorder dumps (``stat``, ``per_pass`` and ``per_token`` modes; a file or a directory of
them), TensorRT-LLM's expert statistics (``meta_info.json`` and ``rankN.safetensors``) and vLLM's load
window saved with ``torch.save``. Each keeps the decoder-layer id of its rows where the format says it
(SGLang: a row per decoder layer; TensorRT-LLM: its keys). Readers raise InputError naming the file and the
field; ``write_loads`` (the samples) is atomic.
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ... import host
from ...errors import InputError
from ...io import LIMITS, atomic_dir, atomic_write, dumps_json, load_document, parse_document, read_bytes
from ..layouts import check_layer_ids
from ..solver import as_loads
from .common import numbers, slot_map, torch_bytes, torch_load

LOAD_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".npy", ".pt")
LOAD_FORMATS = ("npy", "json", "csv", "pt", "sglang", "trtllm", "vllm")
"""Formats ``write_loads`` writes (``flyer eplb sample``); ``read_loads`` reads them all."""
SAMPLE_LOAD_FORMATS = {".npy": "npy", ".json": "json", ".csv": "csv", ".pt": "pt"}
"""The load format ``flyer eplb sample`` writes for an ``--out`` suffix, where ``--format`` is not given."""
TRTLLM_META = "meta_info.json"


@dataclass
class Loads:
    """Tokens per logical expert [rows, experts] (float32), and the decoder-layer id of each row where the
    input says (SGLang dumps: every decoder layer; TensorRT-LLM statistics: its keys), else None."""

    counts: np.ndarray
    layer_ids: np.ndarray | None
    source: str


# ---- Loads in -----------------------------------------------------------------------------------------


def load_paths(path: str | os.PathLike) -> list[Path]:
    """What ``read_loads(path)`` reads, for ``check_outputs``: a file of TensorRT-LLM statistics stands for
    its whole directory."""
    p = Path(path)
    return [p, p.parent] if p.name == TRTLLM_META or p.suffix == ".safetensors" else [p]


def read_loads(path: str | os.PathLike) -> Loads:
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
            ids, first_ids = part.layer_ids, first.layer_ids
            if (ids is None) != (first_ids is None) or (
                ids is not None and first_ids is not None and not np.array_equal(ids, first_ids)
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
    return _from_torch(torch_load(data, name), name)


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


def _counts(val: Any, name: str, field: str) -> np.ndarray:
    """[layers, experts], or [steps, layers, experts] summed over steps (SGLang's recorder)."""
    arr = numbers(val, name, field)
    if arr.ndim == 3:
        arr = arr.astype(np.float64).sum(axis=0)
    return as_loads(arr, file=name, field_=field)


def _counts_of(val: Any, shape: tuple, name: str, field: str) -> np.ndarray:
    """Counts per physical slot, as float64, of exactly ``shape`` (the map's [layers, slots], or
    [window, layers, slots]); InputError naming ``field`` otherwise (never broadcast)."""
    arr = numbers(val, name, field)
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
    (vLLM's padding) are dropped. ``phy2log`` was checked by ``slot_map`` (ids below the slot count)."""
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
        return Loads(as_loads(numbers(obj, name, "weight"), file=name), None, "pt")
    if "records" in obj:  # SGLang per_pass / per_token recorder dump
        if "last_physical_to_logical_map" not in obj:
            raise InputError(
                "an SGLang per_pass dump needs its last_physical_to_logical_map",
                file=name,
                field="last_physical_to_logical_map",
            )
        phy2log = slot_map(obj["last_physical_to_logical_map"], name, "last_physical_to_logical_map")
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
        phy2log = slot_map(obj["physical_to_logical_map"], name, "physical_to_logical_map", padding=True)
        raw = obj["expert_load_window"]
        steps = getattr(raw, "shape", (None,))[0] if getattr(raw, "ndim", 0) == 3 else None
        window = _counts_of(raw, (steps, *phy2log.shape), name, "expert_load_window")
        counts = _physical_to_logical(window.sum(axis=0), phy2log)
        return Loads(as_loads(counts, file=name), None, "vLLM load window")
    if "logical_count" in obj:
        raw = numbers(obj["logical_count"], name, "logical_count")
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
        return [atomic_write(p, torch_bytes(torch.from_numpy(c)))]
    if fmt == "sglang":
        full = np.zeros((1, decoder_layers, c.shape[1]), dtype=np.int32)
        full[0, ids] = c
        dump = {
            "rank": 0,
            "logical_count": torch.from_numpy(full),
            "average_utilization_rate_over_window": None,
        }
        return [atomic_write(p, torch_bytes(dump))]
    if fmt == "vllm":
        window = torch.from_numpy(c.astype(np.int64)[None])
        phy2log = torch.arange(c.shape[1]).repeat(c.shape[0], 1)
        return [
            atomic_write(p, torch_bytes({"expert_load_window": window, "physical_to_logical_map": phy2log}))
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
