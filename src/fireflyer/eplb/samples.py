"""The sample inputs fireflyer ships: a DeepSeek-V3-shaped expert load (``data/sample-load.npy``) and what is
made from it (the load in every input format, a plan), so that every example runs from an empty folder.

The load is generated, not recorded traffic: 4096 tokens per MoE layer routed as DeepSeek-V3 routes them
(8 of 256 experts per token, from the 4 best of 8 groups, a group scored by its best two experts), with
Zipf-like expert popularity in a random order per layer. Counts are whole tokens, so equal loads occur, as in
real recorder dumps. ``generate_load`` made the shipped files; the files, not the generator, are the sample
(numpy does not promise the same random stream across versions).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import msgspec
import numpy as np

from .. import io as ffio
from .. import profiles
from ..compat import StrEnum
from ..errors import InputError
from .formats import LOAD_FORMATS, SAMPLE_LOAD_FORMATS, write_loads
from .layouts import layer_ids

SAMPLE_MODEL = "deepseek-v3"
SAMPLES = {"load": "sample-load.npy", "next-load": "sample-next-load.npy"}
"""The shipped loads: ``load``, and ``next-load``, the same experts' popularity routed with new tokens (what
the recorder sees an hour later: same hot experts, counts moved by sampling noise)."""
SAMPLE_DEPLOYMENT = "deepseek-v3-prefill"
"""The deployment a sample plan is made for, unless another is named."""


class SampleKind(StrEnum):
    """What ``flyer eplb sample`` writes: a shipped load, or a plan of the first."""

    LOAD = "load"
    NEXT_LOAD = "next-load"
    PLAN = "plan"


class SampleFormat(StrEnum):
    """What ``flyer eplb sample`` writes in: a load's LOAD_FORMATS, then a plan's FORMATS (a test keeps them
    equal)."""

    NPY = "npy"
    JSON = "json"
    CSV = "csv"
    PT = "pt"
    SGLANG = "sglang"
    TRTLLM = "trtllm"
    VLLM = "vllm"
    NATIVE = "native"


class SampleResult(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What ``flyer eplb sample`` wrote (``--json``)."""

    kind: str
    format: str
    written: list[str]
    model: str
    what: str
    """The sample in words."""


def sample_load(kind: str = "load") -> np.ndarray:
    """A shipped sample: int32 [58 MoE layers, 256 experts] token counts, rows for decoder layers 3..60."""
    ref = resources.files(__package__).joinpath("data").joinpath(SAMPLES[kind])
    with resources.as_file(ref) as path:
        data = ffio.read_bytes(path, what="the shipped sample load")
    import io as _io

    return np.load(_io.BytesIO(data), allow_pickle=False)


def generate_load(
    layers: int = 58,
    experts: int = 256,
    groups: int = 8,
    groups_per_token: int = 4,
    top_k: int = 8,
    tokens: int = 4096,
    exponent: float = 0.9,
    seed: int = 0,
    tokens_seed: int = 0,
) -> np.ndarray:
    """Token counts [layers, experts] of ``tokens`` tokens per layer routed with group-limited top-k; ``seed``
    orders the experts' popularity, ``tokens_seed`` draws the tokens."""
    rng = np.random.default_rng(seed)
    draws = np.random.default_rng([seed, tokens_seed])
    gs = experts // groups
    popularity = np.arange(1, experts + 1, dtype=np.float64) ** -exponent
    out = np.zeros((layers, experts), dtype=np.int32)
    for layer in range(layers):
        logits = np.log(rng.permutation(popularity))
        scores = logits[None, :] + draws.gumbel(size=(tokens, experts))
        best_two = np.sort(scores.reshape(tokens, groups, gs), axis=2)[:, :, -2:].sum(axis=2)
        keep = np.argsort(-best_two, axis=1, kind="stable")[:, :groups_per_token]
        mask = np.full((tokens, groups), -np.inf)
        np.put_along_axis(mask, keep, 0.0, axis=1)
        masked = scores + np.repeat(mask, gs, axis=1)
        chosen = np.argsort(-masked, axis=1, kind="stable")[:, :top_k]
        out[layer] = np.bincount(chosen.ravel(), minlength=experts)
    return out


def write_sample(
    out: str | Path, kind: str = "load", fmt: str | None = None, deployment: str | None = None
) -> SampleResult:
    """``flyer eplb sample``: write the ``kind`` of sample (SampleKind) to ``out`` in ``fmt`` (default from
    the suffix: SAMPLE_LOAD_FORMATS for loads, ``plan_format`` for plans); a plan is the balanced plan of
    the sample load for ``deployment`` (default SAMPLE_DEPLOYMENT)."""
    from .planning import plan_file  # NOTE: here, since planning plans the sample when given no load

    out = Path(out)
    kind = SampleKind(kind).value
    if kind == "plan":
        deployment = deployment or SAMPLE_DEPLOYMENT
        made = plan_file(None, out=out, fmt=fmt, deployment=deployment)
        layout = f"{made.slots} slots on {made.gpus} GPUs"
        what = f"a {made.format} plan of the sample load for {deployment} ({layout})"
        return SampleResult(kind=kind, format=made.format, written=[str(out)], model=SAMPLE_MODEL, what=what)
    if fmt is None and (fmt := SAMPLE_LOAD_FORMATS.get(out.suffix.lower())) is None:
        raise InputError(
            f"cannot tell the format from {out.suffix or 'no suffix'}",
            file=str(out),
            field="format",
            hint="pass --format",
        )
    if fmt not in LOAD_FORMATS:
        raise InputError(f"unknown load format {fmt!r}; expected {', '.join(LOAD_FORMATS)}", field="format")
    if fmt != "trtllm":
        ffio.check_outputs([out])
    ids = layer_ids(58, model=SAMPLE_MODEL)
    written = write_loads(
        sample_load(kind),
        out,
        fmt,
        layer_ids=ids.ids,
        decoder_layers=int(ids.decoder_layers or 0),
        experts_per_token=profiles.model(SAMPLE_MODEL).experts_per_token,
    )
    return SampleResult(
        kind=kind,
        format=fmt,
        written=[str(x) for x in written],
        model=SAMPLE_MODEL,
        what=f"the sample {kind} as {fmt}",
    )
