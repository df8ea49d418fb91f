"""A day of serving in money: GPU cost, theoretical revenue at API prices, and the cost-profit margin, as
DeepSeek's inference-system overview counts them.

Money is computed in decimal from the numbers as given, so DeepSeek's rounded day (608e9 input tokens, 342e9
of them cache hits, 168e9 output tokens, 226.75 nodes, 24 h, $2 per GPU-hour) gives $87,072 and $562,100
exactly. (The overview's $562,027 comes from its unrounded token counts.)
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources

from msgspec import Struct

from .. import io as ffio
from ..errors import InputError

PRICES_FILE = "prices.yaml"
DEFAULT_PRICES = "deepseek-r1"
MILLION = Decimal(1_000_000)


class Prices(Struct, kw_only=True, forbid_unknown_fields=True):
    """USD per million tokens: input served from the on-disk KV cache, input computed, output."""

    hit: float
    miss: float
    output: float
    name: str = "custom"
    model: str = ""
    source: str = "given on the command line"
    date: str = ""

    def __post_init__(self) -> None:
        for field in ("hit", "miss", "output"):
            v = getattr(self, field)
            if not v >= 0 or v == float("inf"):
                raise InputError(f"must be a finite price >= 0, got {v}", field=f"price_{field}")


class _Preset(Struct, kw_only=True, forbid_unknown_fields=True):
    model: str
    hit: float
    miss: float
    output: float
    source: str
    date: str


def presets() -> dict[str, Prices]:
    """The shipped price presets (``data/prices.yaml``): DeepSeek-R1's and V3's published API prices."""
    ref = resources.files(__package__).joinpath("data").joinpath(PRICES_FILE)
    with resources.as_file(ref) as path:
        raw = ffio.convert(ffio.load_document(path, what="price presets"), dict[str, _Preset], file=str(path))
    return {
        name: Prices(
            name=name, model=p.model, hit=p.hit, miss=p.miss, output=p.output, source=p.source, date=p.date
        )
        for name, p in raw.items()
    }


def prices_given(
    name: str | None, hit: float | None = None, miss: float | None = None, output: float | None = None
) -> Prices:
    """The prices a command was given: a preset ``name`` (default DEFAULT_PRICES) or all three per-million
    prices, never both."""
    given = [p for p in (hit, miss, output) if p is not None]
    if given and (len(given) != 3 or name is not None):
        raise InputError(
            "give --prices NAME or all three of --price-hit, --price-miss, --price-out", field="prices"
        )
    if given:
        return Prices(hit=hit, miss=miss, output=output)  # type: ignore[arg-type]
    return prices(name or DEFAULT_PRICES)


def prices(name: str) -> Prices:
    """A shipped preset by name."""
    known = presets()
    if name not in known:
        raise InputError(f"no price preset {name!r}; shipped: {', '.join(sorted(known))}", field="prices")
    return known[name]


class DayCost(Struct, kw_only=True):
    """What ``flyer inference cost`` reports (USD; margin as DeepSeek states it: profit over cost)."""

    input_tokens: float
    cache_hit_tokens: float
    cache_miss_tokens: float
    output_tokens: float
    cache_hit_pct: float | None
    nodes: float
    gpus_per_node: int
    hours: float
    gpu_hour_usd: float
    gpu_hours: float
    prices: Prices
    cost_usd: float
    revenue_hit_usd: float
    revenue_miss_usd: float
    revenue_output_usd: float
    revenue_usd: float
    profit_usd: float
    margin_pct: float | None
    """(revenue - cost) / cost, in percent; None when the cost is 0."""
    notes: list[str] = []


def _dec(v: float) -> Decimal:
    return Decimal(repr(float(v)))


def day_cost(
    *,
    input_tokens: float,
    cache_hit_tokens: float,
    output_tokens: float,
    nodes: float,
    price: Prices,
    gpus_per_node: int = 8,
    hours: float = 24.0,
    gpu_hour_usd: float = 2.0,
) -> DayCost:
    """GPU cost of ``nodes`` (average) for ``hours``, and the revenue the tokens would bring at ``price``."""
    for field, v in (
        ("input_tokens", input_tokens),
        ("cache_hit_tokens", cache_hit_tokens),
        ("output_tokens", output_tokens),
        ("nodes", nodes),
        ("hours", hours),
        ("gpu_hour", gpu_hour_usd),
    ):
        if not (v >= 0 and v != float("inf")):
            raise InputError(f"must be a finite number >= 0, got {v}", field=field)
    if gpus_per_node < 1:
        raise InputError(f"must be at least 1, got {gpus_per_node}", field="gpus_per_node")
    if cache_hit_tokens > input_tokens:
        raise InputError(
            f"{cache_hit_tokens:g} cache hits exceed the {input_tokens:g} input tokens",
            field="cache_hit_tokens",
        )
    miss = _dec(input_tokens) - _dec(cache_hit_tokens)
    gpu_hours = _dec(nodes) * gpus_per_node * _dec(hours)
    cost = gpu_hours * _dec(gpu_hour_usd)
    r_hit = _dec(cache_hit_tokens) * _dec(price.hit) / MILLION
    r_miss = miss * _dec(price.miss) / MILLION
    r_out = _dec(output_tokens) * _dec(price.output) / MILLION
    revenue = r_hit + r_miss + r_out
    notes = []
    if price.name == DEFAULT_PRICES:
        notes.append(
            "DeepSeek's overview gives $562,027 revenue and a 545% margin for its day at these prices: it "
            "priced its unrounded token counts; the rounded 608B/342B/168B give $562,100"
        )
    return DayCost(
        input_tokens=input_tokens,
        cache_hit_tokens=cache_hit_tokens,
        cache_miss_tokens=float(miss),
        output_tokens=output_tokens,
        cache_hit_pct=100.0 * cache_hit_tokens / input_tokens if input_tokens else None,
        nodes=nodes,
        gpus_per_node=gpus_per_node,
        hours=hours,
        gpu_hour_usd=gpu_hour_usd,
        gpu_hours=float(gpu_hours),
        prices=price,
        cost_usd=float(cost),
        revenue_hit_usd=float(r_hit),
        revenue_miss_usd=float(r_miss),
        revenue_output_usd=float(r_out),
        revenue_usd=float(revenue),
        profit_usd=float(revenue - cost),
        margin_pct=float((revenue - cost) / cost * 100) if cost else None,
        notes=notes,
    )
