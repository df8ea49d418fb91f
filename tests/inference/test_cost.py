"""The cost arithmetic on DeepSeek's published day, exactly, and its refusals."""

from __future__ import annotations

import pytest

from fireflyer import inference
from fireflyer.errors import InputError

DAY = dict(input_tokens=608e9, cache_hit_tokens=342e9, output_tokens=168e9, nodes=226.75)


def test_deepseek_day_exactly():
    r = inference.day_cost(**DAY, price=inference.prices("deepseek-r1"))
    assert r.gpu_hours == 43_536  # 226.75 x 8 x 24
    assert r.cost_usd == 87_072
    # 342e9 * 0.14 / 1e6 + 266e9 * 0.55 / 1e6 + 168e9 * 2.19 / 1e6
    assert (r.revenue_hit_usd, r.revenue_miss_usd, r.revenue_output_usd) == (47_880, 146_300, 367_920)
    assert r.revenue_usd == 562_100
    assert r.profit_usd == 475_028
    assert r.margin_pct == pytest.approx(475_028 / 87_072 * 100, rel=1e-15)
    assert round(r.margin_pct, 1) == 545.6
    assert any("562,027" in n for n in r.notes)


def test_presets_carry_source_and_date():
    known = inference.presets()
    assert set(known) >= {"deepseek-r1", "deepseek-v3"}
    r1, v3 = known["deepseek-r1"], known["deepseek-v3"]
    assert (r1.hit, r1.miss, r1.output) == (0.14, 0.55, 2.19)
    assert (v3.hit, v3.miss, v3.output) == (0.07, 0.27, 1.10)
    for p in known.values():
        assert p.source.startswith("https://") and p.date


def test_v3_prices_on_the_same_day():
    r = inference.day_cost(**DAY, price=inference.prices("deepseek-v3"))
    # 342e9 * 0.07 + 266e9 * 0.27 + 168e9 * 1.10, per million
    assert r.revenue_usd == 23_940 + 71_820 + 184_800
    assert not r.notes


def test_hours_gpus_and_rent_scale_the_cost():
    r = inference.day_cost(
        **{**DAY, "nodes": 10},
        price=inference.prices("deepseek-r1"),
        gpus_per_node=4,
        hours=12,
        gpu_hour_usd=2.5,
    )
    assert r.cost_usd == 10 * 4 * 12 * 2.5


@pytest.mark.parametrize(
    "change, field",
    [
        ({"cache_hit_tokens": 609e9}, "cache_hit_tokens"),
        ({"input_tokens": -1.0}, "input_tokens"),
        ({"output_tokens": float("nan")}, "output_tokens"),
        ({"nodes": float("inf")}, "nodes"),
    ],
)
def test_refusals_name_the_field(change, field):
    with pytest.raises(InputError) as e:
        inference.day_cost(**{**DAY, **change}, price=inference.prices("deepseek-r1"))
    assert e.value.field == field


def test_bad_prices_and_unknown_preset():
    with pytest.raises(InputError, match="price"):
        inference.Prices(hit=-0.1, miss=0.5, output=1.0)
    with pytest.raises(InputError, match="deepseek-r1"):
        inference.prices("gpt-9")
