"""The efficiency factors of the estimate, each with its source: the anchors' published H800 figures by
default, or measurements (``flyer kernels bench --json``, ``flyer trace analyze --json``, ``flyer eplb``
plan and load).

A factor is a fraction of the hardware profile's roof (peak TFLOP/s, HBM, NVLink or RDMA bandwidth), so the
same factors apply to any hardware profile: what DeepGEMM reaches on an H800, as a share of the H800's peak,
is assumed of an H100 or H200 as well.
"""

from __future__ import annotations

import os
from pathlib import Path

from msgspec import Struct

from .. import io as ffio
from ..errors import InputError

H800_FP8_TFLOPS = 1978.9
H800_BF16_TFLOPS = 989.4
H800_HBM_GBPS = 3350.0
DEEPEP_NVLINK_MAX_GBPS = 160.0
"""DeepEP README: "H800 (~160 GB/s NVLink maximum bandwidth)", one direction."""
DEEPEP_RDMA_MAX_GBPS = 50.0
"""DeepEP README: "CX7 InfiniBand 400 Gb/s RDMA network card (~50 GB/s maximum bandwidth)"."""
DEEPEP_SMS = 24
"""SMs DeepEP's normal kernels take while they run (``Buffer.set_num_sms(24)`` in DeepEP's README)."""

DEEPGEMM = "DeepGEMM README, H800"
DEEPEP_NORMAL = {16: (43.0, 43.0), 32: (58.0, 57.0), 64: (51.0, 50.0)}
"""DeepEP README, normal kernels on H800: EP -> (dispatch, combine) bottleneck RDMA GB/s."""
DEEPEP_NVLINK = (153.0, 158.0)
"""DeepEP README, intranode EP8 on H800: dispatch, combine NVLink GB/s."""
DEEPEP_LL = {
    8: (98.0, 127.0),
    16: (63.0, 74.0),
    32: (48.0, 53.0),
    64: (43.0, 46.0),
    128: (39.0, 39.0),
    256: (39.0, 40.0),
}
"""DeepEP README, low-latency kernels on H800 (128 tokens per batch, top-8, FP8 dispatch, BF16 combine):
EP -> (dispatch, combine) RDMA GB/s."""


class Factor(Struct, kw_only=True):
    name: str
    value: float
    """A fraction of the roof it applies to (``imbalance``: max/mean GPU load; ``overlap``: the share of the
    shorter of compute and communication hidden under the longer)."""
    source: str


def _row(table: dict[int, tuple[float, float]], ep: int) -> tuple[int, tuple[float, float]]:
    """The published row for the largest EP at or below ``ep`` (the smallest row below the table)."""
    key = max([k for k in table if k <= ep] or [min(table)])
    return key, table[key]


KERNELS = (
    (
        "gemm_flops",
        1358,
        H800_FP8_TFLOPS,
        f"{DEEPGEMM}: 1358 FP8 TFLOPS, best dense GEMM (m 4096, n 7168, k 16384)",
    ),
    ("gemm_bw", 2668, H800_HBM_GBPS, f"{DEEPGEMM}: 2668 GB/s, best dense GEMM (m 64, n 7168, k 16384)"),
    (
        "grouped_flops",
        1297,
        H800_FP8_TFLOPS,
        f"{DEEPGEMM}: 1297 FP8 TFLOPS, grouped contiguous (4 x m 8192, n 4096)",
    ),
    ("grouped_bw", 2047, H800_HBM_GBPS, f"{DEEPGEMM}: 2047 GB/s, grouped masked (4 x m 256, n 7168, k 2048)"),
    (
        "mla_flops",
        580,
        H800_BF16_TFLOPS,
        "FlashMLA README: 580 BF16 TFLOPS compute-bound on H800 (also taken for prefill)",
    ),
    ("mla_bw", 3000, H800_HBM_GBPS, "FlashMLA README: 3000 GB/s memory-bound on H800"),
)
"""(factor, published figure, the H800 roof it is a share of, source) of the kernels."""


def defaults(phase: str, ep: int) -> dict[str, Factor]:
    """The factors from the anchors' published H800 figures, for a phase and EP size."""
    f = {
        name: Factor(name=name, value=v / roof, source=f"{src}; H800 roof {roof:g}")
        for name, v, roof, src in KERNELS
    }
    f["overlap"] = Factor(
        name="overlap",
        value=1.0,
        source="DeepSeek's overview: two micro-batches, one's communication hidden under the other's "
        "computation" + (" (decode: a 5-stage pipeline)" if phase == "decode" else "") + "; assumed complete",
    )
    if phase == "decode":
        links = [("ll", DEEPEP_LL, "low-latency kernels", DEEPEP_RDMA_MAX_GBPS)]
    else:
        links = [
            ("rdma", DEEPEP_NORMAL, "normal kernels", DEEPEP_RDMA_MAX_GBPS),
            ("nvlink", {8: DEEPEP_NVLINK}, "intranode kernels", DEEPEP_NVLINK_MAX_GBPS),
        ]
    for prefix, table, kind, roof in links:
        key, pair = _row(table, ep)
        for step, gbps in zip(("dispatch", "combine"), pair):
            name = f"{prefix}_{step}"
            f[name] = Factor(
                name=name,
                value=gbps / roof,
                source=f"DeepEP README, {kind} on H800 at EP{key}: {step} {gbps:g} GB/s / ~{roof:g} GB/s",
            )
    return f


# ---- Measurements ------------------------------------------------------------------------------------

_KERNEL_FACTORS = {
    ("mla", "flops"): "mla_flops",
    ("mla", "bw"): "mla_bw",
    ("gemm", "flops"): "gemm_flops",
    ("gemm", "bw"): "gemm_bw",
    ("grouped", "flops"): "grouped_flops",
    ("grouped", "bw"): "grouped_bw",
    ("ep-normal-dispatch", "bw"): "nvlink_dispatch",
    ("ep-normal-combine", "bw"): "nvlink_combine",
    ("ep-low_latency-dispatch", "bw"): "ll_dispatch",
    ("ep-low_latency-combine", "bw"): "ll_combine",
}


def _family(op: str, shape: dict) -> str:
    if op == "gemm":
        return "gemm" if shape.get("layout", "dense") == "dense" else "grouped"
    if op == "ep":
        return f"ep-{shape.get('mode', 'normal')}-{shape.get('phase', 'dispatch')}"
    return op


def from_kernels(path: str | os.PathLike, factors: dict[str, Factor]) -> list[str]:
    """Replace the kernel factors with the best correct result's share of its roof in a `flyer kernels bench`
    results file; returns notes (factors the file has no result for keep their defaults)."""
    from ..kernels import results

    report = results.load(path)
    best: dict[str, tuple[float, str]] = {}
    for r in report.results:
        if not r.correct:
            continue
        fam = _family(r.op, r.shape)
        for kind, pct in (("flops", r.pct_peak_flops), ("bw", r.pct_peak_bw)):
            name = _KERNEL_FACTORS.get((fam, kind))
            if name is None or pct is None or pct <= 0:
                continue
            if name not in best or pct > best[name][0]:
                best[name] = (pct, f"{r.op} {r.backend} {_shape(r.shape)}")
    if not best:
        raise InputError(
            "no correct result with a percentage of its roof (mla, gemm or ep)",
            file=str(path),
            field="results",
        )
    device = report.env.get("device_described") or report.env.get("device_name") or "?"
    notes = []
    if "cuda" not in str(report.env.get("device", "")) and "cuda" not in str(device).lower():
        notes.append(f"the kernel results were measured on {device}, not a GPU: their roof shares stand in")
    for name, (pct, what) in sorted(best.items()):
        if name in factors:
            factors[name] = Factor(
                name=name,
                value=pct / 100,
                source=f"{Path(path).name}: {what}, {pct:.1f}% of roof on {device}",
            )
    return notes


def _shape(shape: dict) -> str:
    return " ".join(
        f"{k}={v}" for k, v in shape.items() if v not in (None, False) and k not in ("seed", "ranks")
    )


def from_trace(path: str | os.PathLike) -> Factor:
    """The overlap factor from a `flyer trace analyze --json` document: the median rank's share of
    communication hidden under compute."""
    from ..trace import Analysis

    data = ffio.load_document(path, what="trace analysis", fmt="json")
    a = ffio.convert(data, Analysis, file=str(path))
    spread = a.summary.metrics.get("comm_hidden_pct")
    if spread is None:
        raise InputError(
            "no communication in this trace analysis (no comm_hidden_pct)",
            file=str(path),
            field="summary.metrics",
        )
    return Factor(
        name="overlap",
        value=max(0.0, min(1.0, spread.median / 100)),
        source=f"{Path(path).name}: the median rank hides {spread.median:.1f}% of its communication under "
        f"compute ({a.summary.ranks} ranks)",
    )


def imbalance(
    *,
    plan: str | os.PathLike | None,
    load: str | os.PathLike | None,
    model: str,
    replicas: int,
    groups: int,
    nodes: int,
    gpus: int,
) -> Factor:
    """Max/mean GPU load of the routed experts: of ``plan`` on ``load`` (``flyer eplb evaluate``), else of a
    balanced plan of the shipped sample load at this layout (``flyer eplb plan``)."""
    from .. import eplb
    from ..errors import about_file

    if (plan is None) != (load is None):
        raise InputError("--plan and --load go together", field="plan" if plan is None else "load")
    if plan is not None and load is not None:
        p = eplb.read_plan(plan, gpus=gpus, nodes=nodes, model=model)
        loads = eplb.read_loads(load)
        with about_file(load, "weight", "layer_ids"):
            ids = eplb.layer_ids(loads.counts.shape[0], given=loads.layer_ids, model=model)
            counts, layer_ids = ids.moe(loads.counts)
            r = eplb.evaluate(p, counts, layer_ids=layer_ids, file=str(load))
        if p.gpus != gpus:
            raise InputError(
                f"the plan spreads experts over {p.gpus} GPUs; the deployment has EP {gpus}", file=str(plan)
            )
        return Factor(
            name="imbalance",
            value=r.overall,
            source=f"flyer eplb evaluate {Path(plan).name} {Path(load).name}: mean max/mean over "
            f"{r.loaded_layers} layers",
        )
    w = eplb.sample_load().astype("float32")
    r = eplb.evaluate(eplb.plan(w, replicas, groups, nodes, gpus), w)
    return Factor(
        name="imbalance",
        value=r.overall,
        source=f"default: a balanced plan ({replicas} slots on {gpus} GPUs) of the shipped sample load "
        "(generated, 4096 tokens per layer), evaluated on it; give --plan and --load for yours",
    )
