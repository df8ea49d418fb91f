"""The options of `flyer eplb` that only its commands take (the shared ones are in ``_options.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import eplb as lib
from ._options import INT32_MAX, INT64, integer_in, number

count = integer_in(1, INT32_MAX)
"""Slots and groups: positive, and held in 32 bits by the core."""
fraction = number(low=0, high=1, high_open=True)
SlotsOpt = Annotated[
    int | None,
    typer.Option(
        "--slots",
        parser=count,
        metavar="N",
        help="Physical expert slots per layer (default: experts + the deployment's redundant experts).",
    ),
]
ReplicasAliasOpt = Annotated[
    int | None,
    typer.Option("--replicas", "-r", parser=count, metavar="N", hidden=True, help="Old name of --slots."),
]
GroupsOpt = Annotated[
    int | None,
    typer.Option(
        "--groups", parser=count, metavar="N", help="Expert groups (default: from the model, else 1)."
    ),
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
PlanFormatOpt = Annotated[
    lib.PlanFormat | None,
    typer.Option(
        "--format",
        help="native (.json), sglang (.json or .pt) or trtllm (.yaml); default from --out's suffix, else "
        "native. vLLM reads no plan file: it plans in-process with FLYER_VLLM_EPLB=balanced.",
    ),
]
SampleFormatOpt = Annotated[
    lib.SampleFormat | None,
    typer.Option(
        "--format",
        help="Loads: npy, json, csv, pt, sglang (recorder dump), trtllm (statistics directory), vllm (load "
        "window). Plans: native, sglang, trtllm. Default: from --out's suffix.",
    ),
]
LOAD_HELP = (
    "Loads \\[layers, experts]: .npy .json .yaml .csv .pt, an SGLang recorder dump (file or directory), "
    "TensorRT-LLM statistics (directory) or a vLLM load window (.pt)."
)
SAMPLE_HINT = (
    "no LOAD given: planning the shipped sample (a generated DeepSeek-V3 load: 58 MoE layers x 256 experts, "
    "4096 tokens per layer; `flyer eplb sample` writes it)"
)
DumpDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dump-dir",
        metavar="DIR",
        file_okay=False,
        help="The server's SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR, as this machine sees it (shared).",
    ),
]
SecondsOpt = Annotated[
    float | None,
    typer.Option(
        "--seconds",
        parser=number(low=0, low_open=True, high=86400),
        metavar="N",
        help="Record this long.",
    ),
]
RequestsOpt = Annotated[
    int | None,
    typer.Option(
        "--requests",
        parser=integer_in(1, INT32_MAX),
        metavar="N",
        help="Record until the server finished N more requests (its /metrics: --enable-metrics), "
        "at most an hour.",
    ),
]
HttpTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        parser=number(low=0, low_open=True, high=3600),
        metavar="SECONDS",
        help="Each HTTP request; the dump request and the wait for its file get --dump-timeout.",
    ),
]
DumpTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--dump-timeout",
        parser=number(low=0, low_open=True, high=86400),
        metavar="SECONDS",
        help="The dump request, and the wait for a whole dump file to appear.",
    ),
]
PlanArg = Annotated[
    Path,
    typer.Argument(metavar="PLAN", help="Plan file: native .json, SGLang .json/.pt, TensorRT-LLM .yaml."),
]
