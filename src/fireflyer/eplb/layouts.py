"""Where a plan's layout comes from when the user does not spell it out: the model and deployment profiles.

A deployment profile (``deepseek-v3-decode``: 18 nodes, EP144, 32 redundant experts) gives nodes, GPUs and
physical slots; a model profile gives the expert groups, the routed-expert count loads must match, and the
decoder layers: which decoder layer each row of a load is (DeepSeek-V3: 61 layers, MoE layers 3..60), which
the engines index plans by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import profiles
from ..errors import InputError

MAX_LAYERS = 1 << 16
"""The most decoder layers a plan or a load may name (DeepSeek-V3 has 61): a layer id is checked against it
before a table with a row per decoder layer is allocated."""


def check_layer_ids(ids, *, file: str | None = None, field: str = "layer_ids") -> np.ndarray:
    """Decoder-layer ids as int64, each in 0..MAX_LAYERS-1; InputError naming the first id out of range."""
    try:
        arr = np.asarray(ids, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise InputError("expected a list of layer ids (whole numbers)", file=file, field=field) from None
    bad = (arr < 0) | (arr >= MAX_LAYERS)
    if bad.any():
        raise InputError(
            f"layer id {int(arr[bad][0])} is out of range; expected 0..{MAX_LAYERS - 1}",
            file=file,
            field=field,
        )
    return arr


@dataclass(frozen=True)
class Layout:
    """Physical slots per layer, expert groups, nodes and GPUs of a plan, and where each came from."""

    slots: int
    """Physical expert slots per layer (the experts plus the redundant ones)."""
    groups: int
    nodes: int
    gpus: int
    model: str | None
    sources: dict[str, str]


def redundant_experts(model: str) -> int:
    """Redundant slots the deployments of ``model`` that name any (serving units) use, where they all agree;
    else 0."""
    rows, _ = profiles.catalog("deployment")
    names = _names(model)
    counts = {
        e.profile.redundant_experts
        for e in rows
        if isinstance(e.profile, profiles.DeploymentProfile)
        and e.profile.model in names
        and e.profile.redundant_experts is not None
    }
    return counts.pop() if len(counts) == 1 else 0


def _names(model: str) -> set[str]:
    m = profiles.model(model)
    return {m.name, *m.aliases}


def layout(
    experts: int,
    *,
    model: str | None = None,
    deployment: str | None = None,
    slots: int | None = None,
    groups: int | None = None,
    nodes: int | None = None,
    gpus: int | None = None,
) -> Layout:
    """The layout for loads of ``experts`` logical experts per layer: what is given, else the deployment's
    and the model's, else one node of 8 GPUs, one group and no redundant slots."""
    src: dict[str, str] = {}
    dep = profiles.deployment(deployment) if deployment else None
    model = model or (dep.model if dep else None)
    prof = profiles.model(model) if model else None
    if prof is not None and prof.routed_experts != experts:
        cause = ""
        if experts > prof.routed_experts:
            cause = (
                f"; {experts} looks like physical slots ({experts - prof.routed_experts} redundant), "
                "pass the logical (per-expert) counts"
            )
        raise InputError(
            f"the load has {experts} experts per layer, model {prof.name} has {prof.routed_experts}{cause}",
            field="model",
        )

    def pick(name: str, given: int | None, derived: int | None, why: str, default: int) -> int:
        if given is not None:
            src[name] = "given"
            return given
        if derived is not None:
            src[name] = why
            return derived
        src[name] = "default"
        return default

    nodes = pick("nodes", nodes, dep.nodes if dep else None, f"deployment {deployment}", 1)
    gpus = pick("gpus", gpus, (dep.ep or dep.gpus) if dep else None, f"deployment {deployment}", 8)
    groups = pick("groups", groups, prof.expert_groups if prof else None, f"model {model}", 1)
    extra = (
        dep.redundant_experts
        if dep is not None and dep.redundant_experts is not None
        else (redundant_experts(model) if model else None)
    )
    why = f"deployment {deployment}" if dep is not None else f"model {model}'s published deployments"
    slots = pick(
        "slots",
        slots,
        None if extra is None else experts + extra,
        f"{why}: {experts} experts + {extra} redundant",
        experts,
    )
    return Layout(
        slots=slots,
        groups=groups,
        nodes=nodes,
        gpus=gpus,
        model=prof.name if prof else None,
        sources=src,
    )


def expert_bytes(model: str | None = None, given: int | None = None) -> tuple[int, str]:
    """Bytes moved per expert copy: ``given``, else the model profile's FP8 size (default deepseek-v3)."""
    if given is not None:
        if given < 0:
            raise InputError(f"must be non-negative, got {given}", field="expert-bytes")
        return given, "--expert-bytes"
    name = model or "deepseek-v3"
    return int(profiles.model(name).expert_bytes.fp8), f"{name} fp8"


@dataclass(frozen=True)
class LayerIds:
    """The decoder-layer id of each row, which rows are dense layers (the model's, or below
    --first-moe-layer), the model's decoder-layer count (None when unknown) and where the ids came from."""

    ids: np.ndarray
    dense: np.ndarray
    decoder_layers: int | None
    source: str

    def moe(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of MoE layers and their ids (a row per decoder layer, as SGLang records, loses its dense
        layers' rows); tokens in a dense layer's row are an error."""
        hot = self.dense & (np.asarray(counts).sum(axis=1) > 0)
        if hot.any():
            raise InputError(
                f"the load has tokens in decoder layer {int(self.ids[hot][0])}, a dense layer "
                f"({self.source})",
                field="layer_ids",
                hint="check --model and --first-moe-layer",
            )
        return np.asarray(counts)[~self.dense], self.ids[~self.dense]


def layer_ids(
    rows: int,
    *,
    given: np.ndarray | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
) -> LayerIds:
    """Decoder-layer ids of ``rows`` rows: the input's own (``given``: SGLang dumps have every decoder layer,
    TensorRT-LLM keys its statistics by layer), else ``first_moe_layer`` onwards, else the model's (its MoE
    layers when there is a row per MoE layer, every decoder layer when there is a row per decoder layer),
    else 0.. (rows taken as decoder layers in order). Rows below ``first_moe_layer`` (default: the model's)
    are dense layers."""
    prof = profiles.model(model) if model else None
    total = prof.layers if prof else None
    if first_moe_layer is not None and not 0 <= first_moe_layer < MAX_LAYERS:
        raise InputError(f"expected 0..{MAX_LAYERS - 1}, got {first_moe_layer}", field="first-moe-layer")
    if given is not None:
        ids = np.asarray(given, dtype=np.int64)
        src = "the load"
    elif first_moe_layer is not None:
        ids = np.arange(first_moe_layer, first_moe_layer + rows, dtype=np.int64)
        src = "--first-moe-layer"
    elif prof is not None:
        if rows == prof.moe_layers:
            ids = np.arange(prof.first_moe_layer, prof.layers, dtype=np.int64)
            src = f"model {prof.name}: a row per MoE layer"
        elif rows == prof.layers:
            ids = np.arange(rows, dtype=np.int64)
            src = f"model {prof.name}: a row per decoder layer"
        else:
            raise InputError(
                f"the load has {rows} rows; model {prof.name} has {prof.moe_layers} MoE layers "
                f"({prof.first_moe_layer}..{prof.layers - 1}) of {prof.layers} decoder layers",
                field="weight",
                hint="pass --first-moe-layer N when the rows are MoE layers N.. of this model",
            )
    else:
        ids = np.arange(rows, dtype=np.int64)
        src = "row order (no model given)"
    if total is not None and int(ids.max()) >= total:
        raise InputError(
            f"the load has a row for decoder layer {int(ids.max())}; model {prof.name} has {total} "  # type: ignore[union-attr]
            "decoder layers",
            field="weight",
        )
    first = first_moe_layer if first_moe_layer is not None else (prof.first_moe_layer if prof else None)
    dense = ids < first if first is not None else np.zeros(len(ids), dtype=bool)
    if first is not None and dense.any():
        src += f"; dense layers below {first} left out"
    return LayerIds(ids=ids, dense=dense, decoder_layers=total, source=src)
