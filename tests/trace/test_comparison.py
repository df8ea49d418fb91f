"""`fireflyer.trace.comparison`: what got slower between two runs."""

from __future__ import annotations

from fireflyer.trace import diff
from fireflyer.trace.synthetic import generate_ranks
from tests.conftest import run_json


def test_diff_finds_what_got_slower(tmp_path):
    generate_ranks(tmp_path / "a", 2, steps=6, seed=1)
    generate_ranks(tmp_path / "b", 2, steps=9, seed=1, straggler=1, slow=2.0)
    d = diff([tmp_path / "a"], [tmp_path / "b"], top=0)
    assert d.per == "step" and d.what == "kernels" and (d.a.steps, d.b.steps) == (12, 18)
    compute = {t.metric: t for t in d.totals}["compute_us"]
    assert compute.delta > 0
    grown = [r for r in d.rows if r.kind == "compute" and r.delta_us > 0]
    assert grown and d.rows[0].delta_us == max(abs(r.delta_us) for r in d.rows)
    same = diff([tmp_path / "a"], [tmp_path / "a"])
    assert all(r.delta_us == 0 for r in same.rows)
    data = run_json("trace", "diff", str(tmp_path / "a"), str(tmp_path / "b"), "--top", "3")
    assert len(data["rows"]) == 3 and data["per"] == "step"
