"""How `flyer kernels` results look on a terminal: the backend catalogue, result tables, comparisons."""

from __future__ import annotations

from typing import Any

import msgspec

from ...kernels.cases import CASE_TYPES
from .._output import Output, fmt_pct


def _defaults(op: str) -> dict[str, Any]:
    return {
        f.name: f.default
        for f in msgspec.structs.fields(CASE_TYPES[op])
        if f.default is not msgspec.NODEFAULT
    }


def shape_label(op: str, shape: dict[str, Any]) -> str:
    """The fields of a shape that differ from the case's defaults, compactly (``b=128 s_k=4096 h_q=16``)."""
    defaults = _defaults(op) if op in CASE_TYPES else {}
    bits = []
    for k, v in shape.items():
        if k in defaults and defaults[k] == v or k == "seed" and v == 0 or k == "ranks":
            continue
        if k == "phase":
            bits.append(str(v))
            continue
        if k in ("causal",) and v is not None and v == (shape.get("mode", "dense") == "dense"):
            continue
        if v is True:
            bits.append(k)
        elif v is not None and v is not False:
            bits.append(f"{k}={v if not isinstance(v, list) else ','.join(map(str, v))}")
    return " ".join(bits)


def catalog(o: Output, data: dict) -> None:
    o.table(
        ["op", "backend", "runs here", "version", "why not"],
        [
            (
                r["op"],
                r["backend"],
                r["available"],
                (f"{r['version']} ({r['distribution']}{', unofficial' if r['unofficial'] else ''})")
                if r["version"]
                else None,
                r["reason"],
            )
            for r in data["backends"]
        ],
        title=f"kernel backends on {data['device']}",
        justify=["left", "left", "left", "left", "left"],
    )


def _us(v: float | None) -> str | None:
    """Microseconds without exponents: 158,400 / 613.8 / 4.21."""
    if v is None:
        return None
    return f"{v:,.0f}" if v >= 1000 else f"{v:.4g}"


def bench(o: Output, data: dict) -> None:
    env = data["env"]
    o.line(
        f"{data['suite']['name']} suite on {env['device_described']}; torch {env['torch']}"
        + (f", CUDA {env['cuda']}, driver {env['driver']}" if env.get("cuda") else "")
    )
    roof = data.get("roof")
    if roof:
        peaks = ", ".join(f"{k} {v:g}" for k, v in roof["peak_tflops"].items())
        o.line(f"roof: {roof['profile']}: {peaks} TFLOP/s, memory {roof['memory_gbps']:g} GB/s", style="dim")
    o.table(
        [
            "op",
            "backend",
            "shape",
            "median µs",
            "p20-p80 µs",
            "TFLOP/s",
            "GB/s",
            "% FLOPs",
            "% BW",
            "correct",
        ],
        [
            (
                r["op"],
                r["backend"],
                shape_label(r["op"], r["shape"]),
                _us(r["median_us"]),
                None if r["p20_us"] is None else f"{_us(r['p20_us'])}-{_us(r['p80_us'])}",
                r["tflops"],
                r["gbps"],
                fmt_pct(r["pct_peak_flops"]),
                fmt_pct(r["pct_peak_bw"]),
                r["correct"],
            )
            for r in data["results"]
        ],
        justify=["left", "left", "left", "right", "right", "right", "right", "right", "right", "left"],
    )
    for s in data["skipped"]:
        where = f" ({shape_label(s['op'], s['shape'])})" if s.get("shape") else ""
        o.hint(f"skipped {s['op']} {s['backend']}{where}: {s['reason']}")
    for n in data["notes"]:
        o.hint(n)


def compared(o: Output, data: dict) -> None:
    o.table(
        ["op", "backend", "shape", "baseline µs", "current µs", "change", "status"],
        [
            (
                r["op"],
                r["backend"],
                shape_label(r["op"], r["shape"]),
                _us(r["baseline_us"]),
                _us(r["current_us"]),
                None if r["change_pct"] is None else f"{r['change_pct']:+.1f}%",
                r["status"] + (f" ({r['note']})" if r["note"] else ""),
            )
            for r in data["rows"]
        ],
        justify=["left", "left", "left", "right", "right", "right", "left"],
        title=f"threshold {data['threshold_pct']:g}%",
    )
    counts = ", ".join(f"{v} {k}" for k, v in data["counts"].items())
    o.line(counts or "nothing to compare")
    for n in data["notes"]:
        o.hint(n)
