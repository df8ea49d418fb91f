"""One benchmark case of each operation: its shape, validated before anything is allocated.

msgspec schemas (no torch), so a suite file's errors name the case and the field
(``cases[3].k: 7000 is not a multiple of 128``). ``shape()`` is what a result carries and what
``compare`` matches on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

from .formulas import SCALE_BLOCK

Pos = Annotated[int, Meta(gt=0)]
NonNeg = Annotated[int, Meta(ge=0)]
Seed = Annotated[int, Meta(ge=0, le=2**63 - 1)]
OPS = ("mla", "gemm", "ep")
GEMM_ALIGN = 128
"""Rows each group of a grouped-contiguous GEMM occupies are a multiple of this (DeepGEMM's M alignment)."""


class _Case(Struct, kw_only=True, forbid_unknown_fields=True, tag_field="op"):
    seed: Seed = 0
    """Seed of the random inputs: the same case gives the same inputs on every run."""

    def shape(self) -> dict[str, Any]:
        """The case as plain data, without ``op``: what results carry and ``compare`` matches on."""
        data = msgspec.to_builtins(self, order="deterministic")
        data.pop("op", None)
        return data

    @property
    def op(self) -> str:
        return type(self).__struct_config__.tag  # type: ignore[return-value]


class MlaCase(_Case, tag="mla"):
    """MLA decoding with a paged KV cache (FlashMLA): q [b, s_q, h_q, d], cache blocks of ``block_size``
    tokens [blocks, block_size, h_kv, d], V = the first ``dv`` columns."""

    b: Pos
    s_k: Pos
    """Tokens in each sequence's cache (the mean when ``varlen``)."""
    h_q: Pos
    s_q: Pos = 1
    h_kv: Pos = 1
    d: Pos = 576
    dv: Pos = 512
    block_size: Pos = 64
    varlen: bool = False
    """Lengths drawn from N(s_k, s_k/2), at least s_q (FlashMLA's tests)."""
    zero_lengths: bool = False
    """Some sequences have an empty cache (their output is 0 and their lse +inf)."""
    mode: Literal["dense", "sparse_fp8"] = "dense"
    """``sparse_fp8``: each query attends to ``topk`` given cache tokens stored in FP8 (656 bytes each)."""
    causal: bool | None = None
    """Causal over the last s_q tokens (dense only; default true for dense, false for sparse)."""
    topk: Pos | None = None
    """Tokens each query attends to in sparse_fp8 mode (default 2048, DeepSeek-V3.2)."""

    def __post_init__(self) -> None:
        if self.h_q % self.h_kv:
            raise ValueError(f"h_q {self.h_q} is not a multiple of h_kv {self.h_kv}")
        if self.dv > self.d:
            raise ValueError(f"dv {self.dv} exceeds d {self.d}")
        if self.mode == "sparse_fp8":
            if self.causal:
                raise ValueError("sparse_fp8 decoding is not causal (the top-k indices select the tokens)")
            if (self.h_kv, self.d, self.dv) != (1, 576, 512):
                raise ValueError("sparse_fp8 needs h_kv 1, d 576 and dv 512 (the 656-byte token layout)")
            self.causal = False
            self.topk = self.topk or 2048
        else:
            if self.topk is not None:
                raise ValueError("topk applies to mode sparse_fp8 only")
            self.causal = True if self.causal is None else self.causal


class GemmCase(_Case, tag="gemm"):
    """FP8 GEMM with fine-grained scaling (DeepGEMM): A [m, k] with a scale per 1x128, B [n, k] with a scale
    per 128x128, D = A B^T in bf16. Grouped layouts have one B per group."""

    m: Pos
    """Rows of A (dense); expected valid rows per group (contiguous); rows per group (masked)."""
    n: Pos
    k: Pos
    layout: Literal["dense", "contiguous", "masked"] = "dense"
    groups: Pos = 1
    expected_m: Pos | None = None
    """masked: expected valid rows per group (default m // 2); actual rows vary 0.7x to 1.3x."""
    group_rows: list[Pos] | None = None
    """contiguous: rows each group occupies (each a multiple of 128); default: its valid rows rounded up."""

    def __post_init__(self) -> None:
        if self.k % SCALE_BLOCK:
            raise ValueError(f"k {self.k} is not a multiple of {SCALE_BLOCK} (one scale per 128 values)")
        if self.layout == "dense" and self.groups != 1:
            raise ValueError("a dense GEMM has one group")
        if self.layout != "masked" and self.expected_m is not None:
            raise ValueError("expected_m applies to the masked layout only")
        if self.layout != "contiguous" and self.group_rows is not None:
            raise ValueError("group_rows applies to the contiguous layout only")
        if self.group_rows is not None:
            if len(self.group_rows) != self.groups:
                raise ValueError(f"group_rows has {len(self.group_rows)} entries for {self.groups} groups")
            for g, rows in enumerate(self.group_rows):
                if rows % GEMM_ALIGN:
                    raise ValueError(
                        f"group {g} occupies {rows} rows; contiguous groups must be aligned to "
                        f"{GEMM_ALIGN} rows"
                    )
        if self.layout == "masked":
            self.expected_m = self.expected_m or max(1, self.m // 2)
            if self.expected_m > self.m:
                raise ValueError(f"expected_m {self.expected_m} exceeds the {self.m} rows of a group")


class EpCase(_Case, tag="ep"):
    """MoE dispatch and combine across expert-parallel ranks (DeepEP): each rank holds ``tokens`` tokens of
    ``hidden`` values routed top-``topk`` over ``experts`` experts spread evenly over the ranks."""

    tokens: Pos
    """Tokens per rank."""
    hidden: Pos
    topk: Pos
    experts: Pos
    mode: Literal["normal", "low_latency"] = "normal"
    """normal: one copy per destination rank; low_latency: one copy per selected expert."""
    fp8: bool = False
    """Dispatch payload in FP8 e4m3 with one fp32 scale per 128 values (combine is always bf16)."""

    def __post_init__(self) -> None:
        if self.topk > self.experts:
            raise ValueError(f"topk {self.topk} exceeds the {self.experts} experts")
        if self.fp8 and self.hidden % SCALE_BLOCK:
            raise ValueError(f"hidden {self.hidden} is not a multiple of {SCALE_BLOCK} (FP8 dispatch)")


Case = Union[MlaCase, GemmCase, EpCase]
CASE_TYPES: dict[str, type[Case]] = {"mla": MlaCase, "gemm": GemmCase, "ep": EpCase}
