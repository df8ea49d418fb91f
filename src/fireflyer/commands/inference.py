"""`flyer inference`: serving DeepSeek-V3/R1: a day's cost and margin, a roofline estimate of a deployment
unit's throughput, and the nodes a day of tokens needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import inference as lib
from ._options import JsonOpt, ModelOpt, PlotOpt, integer, number
from ._output import Output
from .views import inference as view
from .views import inference_plot, plotting

app = typer.Typer(
    help="Serving DeepSeek-V3/R1: cost and margin of a day, per-layer roofline throughput of a deployment "
    "unit, nodes per hour for a day of tokens.",
    no_args_is_help=True,
)

RESULTS: dict[str, type] = {"cost": lib.DayCost, "estimate": lib.Estimate, "plan": lib.DayPlan}
"""The record each command prints with --json (`flyer schema inference COMMAND`)."""

_tokens = number(low=0)
HardwareOpt = Annotated[
    str | None,
    typer.Option(
        "--hardware",
        metavar="NAME",
        help="Hardware profile to run the deployment on (h800-sxm, h100-sxm, h200-sxm or yours); default: "
        "the deployment's.",
    ),
]
PricesOpt = Annotated[
    str | None,
    typer.Option("--prices", metavar="NAME", help="Price preset: deepseek-r1 (default) or deepseek-v3."),
]
GpuHourOpt = Annotated[
    float,
    typer.Option("--gpu-hour", parser=number(low=0), metavar="USD", help="Rent of one GPU for an hour."),
]
SloOpt = Annotated[
    float | None,
    typer.Option(
        "--speed-slo",
        parser=number(low=0, low_open=True),
        metavar="TOKENS_PER_S",
        help="Decode: the largest batch per GPU whose per-user speed meets this (default 20, DeepSeek's "
        "20-22).",
    ),
]
CacheHitOpt = Annotated[
    float | None,
    typer.Option(
        "--cache-hit",
        parser=number(low=0, high=1, high_open=True),
        metavar="FRACTION",
        help="Prefill: share of input tokens served from the on-disk KV cache (default 0.563, DeepSeek's "
        "day).",
    ),
]


def _file(flag: str, help: str):
    return typer.Option(flag, metavar="FILE", help=help, dir_okay=False)


@app.command()
def cost(
    input_tokens: Annotated[
        float, typer.Option("--input-tokens", parser=_tokens, metavar="N", help="Input tokens of the day.")
    ],
    cache_hit_tokens: Annotated[
        float,
        typer.Option(
            "--cache-hit-tokens",
            parser=_tokens,
            metavar="N",
            help="Of those, served from the on-disk KV cache.",
        ),
    ],
    output_tokens: Annotated[
        float, typer.Option("--output-tokens", parser=_tokens, metavar="N", help="Output tokens of the day.")
    ],
    nodes: Annotated[
        float, typer.Option("--nodes", parser=number(low=0), metavar="AVG", help="Average nodes serving.")
    ],
    gpus_per_node: Annotated[
        int, typer.Option("--gpus-per-node", parser=integer, metavar="N", help="GPUs per node.")
    ] = 8,
    hours: Annotated[
        float, typer.Option("--hours", parser=number(low=0), metavar="H", help="Hours the nodes run.")
    ] = 24.0,
    gpu_hour: GpuHourOpt = 2.0,
    prices: PricesOpt = None,
    price_hit: Annotated[
        float | None,
        typer.Option(
            "--price-hit", parser=number(low=0), metavar="USD", help="Per million cache-hit input tokens."
        ),
    ] = None,
    price_miss: Annotated[
        float | None,
        typer.Option(
            "--price-miss", parser=number(low=0), metavar="USD", help="Per million cache-miss input tokens."
        ),
    ] = None,
    price_out: Annotated[
        float | None,
        typer.Option("--price-out", parser=number(low=0), metavar="USD", help="Per million output tokens."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """GPU cost of a day, its theoretical revenue at API prices, and the cost-profit margin.

    Revenue counts every token at the preset's prices (or --price-hit/--price-miss/--price-out together), as
    DeepSeek's overview does: cache hits, cache misses and output each at their own price.

    Examples:
      flyer inference cost --input-tokens 608e9 --cache-hit-tokens 342e9 --output-tokens 168e9 --nodes 226.75
      flyer inference cost --input-tokens 1e9 --cache-hit-tokens 5e8 --output-tokens 2e8 --nodes 4 --json
      flyer inference cost --input-tokens 1e9 --cache-hit-tokens 0 --output-tokens 2e8 --nodes 4 --gpu-hour 3
    """
    out = Output(json)
    price = lib.prices_given(prices, price_hit, price_miss, price_out)
    result = lib.day_cost(
        input_tokens=input_tokens,
        cache_hit_tokens=cache_hit_tokens,
        output_tokens=output_tokens,
        nodes=nodes,
        price=price,
        gpus_per_node=gpus_per_node,
        hours=hours,
        gpu_hour_usd=gpu_hour,
    )
    out.emit(result, lambda o: view.cost(o, result))


@app.command()
def estimate(
    deployment: Annotated[
        str,
        typer.Option(
            "--deployment",
            metavar="NAME",
            help="Deployment profile: deepseek-v3-prefill or deepseek-v3-decode.",
        ),
    ],
    hardware: HardwareOpt = None,
    model: ModelOpt = None,
    context: Annotated[
        int | None,
        typer.Option(
            "--context",
            parser=integer,
            metavar="L",
            help="Tokens of context: prompt length (prefill) or KV length (decode); default 4096.",
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            parser=integer,
            metavar="B",
            help="Tokens per GPU per step (prefill default 8192; decode: sequences per GPU).",
        ),
    ] = None,
    speed_slo: SloOpt = None,
    cache_hit: CacheHitOpt = None,
    kernels: Annotated[
        Path | None, _file("--kernels", "`flyer kernels bench --json` results: measured shares of the roof.")
    ] = None,
    plan: Annotated[
        Path | None, _file("--plan", "EPLB plan (any format `flyer eplb` reads), with --load.")
    ] = None,
    load: Annotated[
        Path | None, typer.Option("--load", metavar="LOAD", help="Expert loads for --plan.")
    ] = None,
    overlap: Annotated[
        Path | None, _file("--overlap", "`flyer trace analyze --json` output: the measured hidden share.")
    ] = None,
    frontier: Annotated[
        bool,
        typer.Option("--frontier", help="Decode: node throughput against per-user speed, batch by batch."),
    ] = False,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Throughput of a deployment unit per node, per GPU and (decode) per user, from a per-layer roofline.

    Every layer's time is split into compute, memory and communication with what bounds it, and every
    efficiency factor is listed with its source; DeepSeek's published figure is printed beside it with the
    ratio. Nothing is fitted to DeepSeek's numbers.

    Examples:
      flyer inference estimate --deployment deepseek-v3-prefill
      flyer inference estimate --deployment deepseek-v3-decode --frontier --plot decode.png
      flyer inference estimate --deployment deepseek-v3-decode --hardware h200-sxm --speed-slo 30 --json
      flyer inference estimate --deployment deepseek-v3-prefill --plan plan.json --load load.npy
      flyer inference estimate --deployment deepseek-v3-decode --kernels h800.json --overlap analysis.json
    """
    out = Output(json)
    plotting.check_plot(plot, [kernels, plan, load, overlap])
    result = lib.estimate(
        deployment,
        hardware=hardware,
        model=model,
        context=context,
        batch=batch,
        speed_slo=speed_slo,
        cache_hit=cache_hit,
        kernels=kernels,
        plan=plan,
        load=load,
        overlap=overlap,
        frontier=frontier,
    )
    out.emit(result, lambda o: view.estimate(o, result))
    plotting.write(out, plot, inference_plot.plot_estimate, result)


@app.command("plan")
def plan_(
    tokens_per_day: Annotated[
        tuple[float, float],
        typer.Option("--tokens-per-day", metavar="IN OUT", help="Input and output tokens of the day."),
    ],
    cache_hit: CacheHitOpt = None,
    load_curve: Annotated[
        Path | None, _file("--load-curve", "JSON or YAML list of 24 relative loads, one per hour from 00:00.")
    ] = None,
    diurnal: Annotated[
        bool, typer.Option("--diurnal", help="An assumed curve: 1 + 0.5 cos(2 pi (h - 14) / 24).")
    ] = False,
    speed_slo: SloOpt = None,
    hardware: HardwareOpt = None,
    prices: PricesOpt = None,
    gpu_hour: GpuHourOpt = 2.0,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Prefill and decode nodes hour by hour for a day of tokens; node-hours, peak, average, cost, margin.

    Each hour takes whole deployment units (4 nodes prefill, 18 decode) for its share of the day's tokens at
    the estimate's per-node throughput; printed beside DeepSeek's published 278 peak and 226.75 average.

    Examples:
      flyer inference plan --tokens-per-day 608e9 168e9
      flyer inference plan --tokens-per-day 608e9 168e9 --diurnal --json
      flyer inference plan --tokens-per-day 608e9 168e9 --diurnal --plot day.png
      flyer inference plan --tokens-per-day 608e9 168e9 --hardware h200-sxm --speed-slo 20
    """
    out = Output(json)
    plotting.check_plot(plot, [load_curve])
    curve, name = lib.curve_given(load_curve, diurnal)
    result = lib.plan_day(
        *tokens_per_day,
        cache_hit=lib.DEFAULT_CACHE_HIT if cache_hit is None else cache_hit,
        curve=curve,
        curve_name=name,
        speed_slo=speed_slo or lib.DEFAULT_SPEED_SLO,
        hardware=hardware,
        price=lib.prices(prices or lib.DEFAULT_PRICES),
        gpu_hour_usd=gpu_hour,
    )
    out.emit(result, lambda o: view.plan(o, result))
    plotting.write(out, plot, inference_plot.plot_plan, result)
