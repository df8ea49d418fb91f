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

import numpy as np

from .. import io as ffio

SAMPLE_MODEL = "deepseek-v3"
SAMPLES = {"load": "sample-load.npy", "next-load": "sample-next-load.npy"}
"""The shipped loads: ``load``, and ``next-load``, the same experts' popularity routed with new tokens (what
the recorder sees an hour later: same hot experts, counts moved by sampling noise)."""


def sample_load(kind: str = "load") -> np.ndarray:
    """A shipped sample: int32 [58 MoE layers, 256 experts] token counts, rows for decoder layers 3..60."""
    ref = resources.files(__package__).joinpath("data", SAMPLES[kind])
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
