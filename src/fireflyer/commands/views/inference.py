"""How `flyer inference` results look on a terminal (tables that fit 80 columns)."""

from __future__ import annotations

import textwrap
from typing import Any

from .._output import Output, fmt_pct

WIDTH = 80


def _say(o: Output, text: str, *, style: str | None = "dim", indent: str = "  ") -> None:
    """A note wrapped to 80 columns, its continuation lines indented."""
    for line in textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False):
        o.line(line, style=style)


def _usd(v: float) -> str:
    return f"${v:,.2f}" if v != int(v) else f"${v:,.0f}"


def _n(v: float) -> str:
    """A count without exponents: 608,000,000,000 as 608B, 73,700 as 73.7k."""
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:,.4g}{unit}"
    return f"{v:.4g}"


def cost(o: Output, r: Any) -> None:
    p = r.prices
    o.kv(
        {
            "GPU cost": f"{_usd(r.cost_usd)} ({r.nodes:g} nodes x {r.gpus_per_node} GPUs x {r.hours:g} h x "
            f"{_usd(r.gpu_hour_usd)}/GPU-hour)",
            "revenue": f"{_usd(r.revenue_usd)} at {p.name} prices",
            "profit": _usd(r.profit_usd),
            "cost-profit margin": fmt_pct(r.margin_pct),
        }
    )
    o.table(
        ["tokens", "count", "USD per M", "revenue"],
        [
            ("input, cache hit", _n(r.cache_hit_tokens), p.hit, _usd(r.revenue_hit_usd)),
            ("input, cache miss", _n(r.cache_miss_tokens), p.miss, _usd(r.revenue_miss_usd)),
            ("output", _n(r.output_tokens), p.output, _usd(r.revenue_output_usd)),
        ],
    )
    _say(o, f"prices: {p.model or p.name}{f' ({p.date})' if p.date else ''}: {p.source}")
    for n in r.notes:
        _say(o, f"note: {n}")


def _us(v: float) -> str:
    return f"{v:,.0f}" if v >= 1000 else f"{v:.3g}"


def estimate(o: Output, e: Any) -> None:
    what = "input tokens/s" if e.phase == "prefill" else "output tokens/s"
    _say(
        o,
        f"{e.deployment} on {e.hardware}: {e.nodes} nodes x {e.gpus_per_node} GPUs, EP{e.ep}, "
        f"{e.routed_experts_per_gpu} routed experts per GPU, {e.model}",
        style=None,
    )
    _say(o, f"batch {e.batch} per GPU ({e.batch_from}), context {e.context}")
    rows = {
        f"{what} per node": f"{e.tokens_per_s_per_node:,.0f}"
        + (f" (cache hits included, at {e.cache_hit:.1%})" if e.cache_hit is not None else ""),
        f"{what} per GPU": f"{e.tokens_per_s_per_gpu:,.0f}",
    }
    if e.tokens_per_s_per_user is not None:
        rows["per user, tokens/s"] = f"{e.tokens_per_s_per_user:.1f}"
    rows["step"] = f"{e.step_us / 1000:.2f} ms"
    if e.published:
        rows["DeepSeek published"] = f"{e.published.tokens_per_s_per_node:,.0f} per H800 node"
        rows["estimate / published"] = f"{e.published.ratio:.2f}"
    rows["memory per GPU"] = f"{e.weights_gib:.1f} GiB weights" + (
        f", {e.kv_cache_gib:.1f} GiB KV cache (at most {e.max_batch} sequences)" if e.max_batch else ""
    )
    o.kv(rows)
    o.table(
        ["layer", "x", "compute µs", "memory µs", "comm µs", "time µs", "bound"],
        [
            (
                la.layer,
                la.count,
                _us(la.compute_us),
                _us(la.memory_us),
                _us(la.comm_us),
                _us(la.time_us),
                la.bound,
            )
            for la in e.layers
        ],
        title="time per layer (slowest GPU, one step)",
    )
    o.table(
        ["layer", "operation", "GFLOP", "MB", "flops µs", "bytes µs", "bound"],
        [
            (
                x.layer,
                x.name,
                x.flops / 1e9,
                x.bytes / 1e6,
                _us(x.compute_us),
                _us(x.memory_us),
                x.bound + ("" if x.time_us or not x.bytes else ", hidden"),
            )
            for x in e.ops
        ],
        keys=2,
    )
    o.table(
        ["factor", "value", "source"],
        [(f.name, f"{f.value:.3f}", f.source) for f in e.factors],
        justify=["left", "right", "left"],
    )
    if e.frontier:
        o.table(
            ["batch", "tokens/s per user", "tokens/s per node"],
            [
                (p.batch, f"{p.tokens_per_s_per_user:.1f}", f"{p.tokens_per_s_per_node:,.0f}")
                for p in e.frontier
            ],
            title="decode frontier",
        )
    for a in e.assumptions:
        _say(o, f"assumed: {a}")
    for n in e.notes:
        _say(o, f"note: {n}")


def plan(o: Output, r: Any) -> None:
    _say(
        o,
        f"{_n(r.input_tokens)} input ({r.cache_hit:.1%} cache hits), {_n(r.output_tokens)} output tokens on "
        f"{r.hardware}; {r.curve} load; decode at >= {r.speed_slo:g} tokens/s per user",
        style=None,
    )
    _say(
        o,
        f"per node: prefill {r.prefill.tokens_per_s_per_node:,.0f} input tokens/s, decode "
        f"{r.decode.tokens_per_s_per_node:,.0f} output tokens/s (batch {r.decode.batch})",
    )
    o.table(
        ["hour", "share", "prefill needs", "decode needs", "prefill", "decode", "nodes"],
        [
            (
                f"{h.hour:02d}",
                fmt_pct(100 * h.share),
                f"{h.prefill_nodes_needed:.1f}",
                f"{h.decode_nodes_needed:.1f}",
                h.prefill_nodes,
                h.decode_nodes,
                h.nodes,
            )
            for h in r.hours
        ],
    )
    c = r.cost
    o.kv(
        {
            "node-hours": f"{r.node_hours:,.0f}",
            "peak nodes": f"{r.peak_nodes} (DeepSeek: {r.published_peak_nodes:g}; ratio {r.peak_ratio:.2f})",
            "average nodes": f"{r.average_nodes:.2f} (DeepSeek: {r.published_average_nodes:g}; ratio "
            f"{r.average_ratio:.2f})",
            "GPU cost": _usd(c.cost_usd),
            "revenue": f"{_usd(c.revenue_usd)} at {c.prices.name} prices",
            "cost-profit margin": fmt_pct(c.margin_pct),
        }
    )
    _say(o, f"published: {r.source}")
