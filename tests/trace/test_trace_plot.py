"""`flyer trace analyze/diff --plot`: the pictures show what they must (axes labelled, a bar per rank, the
straggler named and outlined, aggregation past 64 ranks said in the title), and each is written in under a
second. Traces come from the synthetic generator (known answers, a slowed rank)."""

from __future__ import annotations

import random

import msgspec
import pytest

from fireflyer.commands.views import trace_plot as tp
from fireflyer.trace import analyze, diff, synthetic
from fireflyer.trace.analysis import Analysis, CpuBreakdown, RankFigures, summarize
from tests.conftest import run_flyer
from tests.pictures import fastest, texts


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("traces")
    synthetic.generate_ranks(d / "a", 8, steps=2, straggler=5, slow=1.4)
    synthetic.generate_ranks(d / "b", 8, steps=2, straggler=2, slow=1.6, seed=1)
    return d


def _parts(ax, parts) -> list:
    """The stacked parts' collections (one per part, a rectangle per bar), in PARTS order."""
    return [c for c in ax.collections if c.get_label() in {q[0] for q in parts}]


def _height(collection, i: int) -> float:
    ys = collection.get_paths()[i].vertices[:, 1]
    return float(ys.max() - ys.min())


def test_analyze_has_a_bar_per_rank_and_marks_the_straggler(traces):
    a = analyze([traces / "a"])
    fig = tp.analyzed(a)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "rank" and "ms" in ax.get_ylabel()
    parts = _parts(ax, tp.PARTS)
    assert len(parts) == len(tp.PARTS) and all(len(c.get_paths()) == 8 for c in parts)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(r) for r in range(8)]
    assert "straggler: rank 5" in texts(fig) and "straggler marked" in ax.get_title(loc="left")
    (outline,) = [q for q in ax.patches if q.get_label() == "straggler"]
    assert outline.get_x() + outline.get_width() / 2 == pytest.approx(5)
    # each bar is the rank's span, split into parts that add up to it
    assert sum(_height(c, 5) for c in parts) == pytest.approx(a.ranks[5].span_us / 1000)


def test_no_straggler_is_marked_when_ranks_are_even(traces):
    a = analyze([traces / "a"])
    even = [msgspec.structs.replace(a.ranks[0], rank=r, file=f"rank{r}.json") for r in range(3)]
    fig = tp.analyzed(msgspec.structs.replace(a, ranks=even, summary=summarize(even, 3)))
    assert "straggler:" not in texts(fig) and "straggler none" in fig.axes[0].get_title(loc="left")


def _many(a, n: int, slow: int):
    rng = random.Random(0)
    base = a.ranks[0]
    out = []
    for r in range(n):
        extra = base.compute_us * (0.5 if r == slow else 0.04 * rng.random())
        out.append(
            msgspec.structs.replace(
                base,
                rank=r,
                file=f"rank{r}.json",
                compute_us=base.compute_us + extra,
                busy_us=base.busy_us + extra,
                span_us=base.span_us + extra,
            )
        )
    return msgspec.structs.replace(a, ranks=out, summary=summarize(out, n))


def test_512_ranks_aggregate_keep_the_straggler_and_draw_in_under_a_second(traces, tmp_path):
    a = _many(analyze([traces / "a"]), 512, slow=300)
    assert a.summary.straggler is not None and a.summary.straggler.rank == 300
    fig = tp.analyzed(a)
    (ax,) = fig.axes
    title = ax.get_title(loc="left")
    assert "aggregated: 512 ranks, each bar = the mean of 8 consecutive ranks" in title
    assert [len(c.get_paths()) for c in _parts(ax, tp.PARTS)] == [64] * len(tp.PARTS)
    assert "straggler: rank 300" in texts(fig)
    (outline,) = [q for q in ax.patches if q.get_label() == "straggler"]
    assert outline.get_x() + outline.get_width() / 2 == pytest.approx(300 // 8)
    assert len(ax.get_xticklabels()) <= 9  # labels never overprint
    for suffix in ("png", "svg"):
        assert fastest(tp.analyzed, a, tmp_path / f"ranks.{suffix}") < 1.0


def test_cpu_only_traces_split_the_span_into_compute_comm_and_idle():
    cpu = [
        CpuBreakdown(
            ops=10, span_us=1000.0, busy_us=b, comm_us=200.0, compute_us=b - 200, threads=[], top_ops=[]
        )
        for b in (800.0, 950.0)
    ]
    ranks = [RankFigures(rank=r, file=f"r{r}.json", device=None, steps=1, cpu=c) for r, c in enumerate(cpu)]
    a = Analysis(ranks=ranks, summary=summarize(ranks, 2), comm_patterns=[])
    fig = tp.analyzed(a)
    (ax,) = fig.axes
    assert "CPU operators" in ax.get_title(loc="left")
    parts = _parts(ax, tp.CPU_PARTS)
    assert [c.get_label() for c in parts] == [p[0] for p in tp.CPU_PARTS]
    assert sum(_height(c, 1) for c in parts) == pytest.approx(1.0)  # the span, 1000 us


def test_diff_draws_the_top_changes_as_bars(traces, tmp_path):
    d = diff([traces / "a"], [traces / "b"])
    fig = tp.diffed(d)
    (ax,) = fig.axes
    (bars,) = ax.containers
    assert len(bars) == min(len(d.rows), tp.TOP_CHANGES) > 0
    assert "B - A" in ax.get_xlabel() and ax.get_ylabel() == "kernel"
    slower = [b.get_width() > 0 for b in bars]
    assert slower == [r.delta_us > 0 for r in d.rows[: len(bars)]]
    assert fastest(tp.diffed, d, tmp_path / "diff.png") < 1.0


def test_cli_writes_the_picture_and_refuses_other_suffixes(traces, tmp_path):
    svg = tmp_path / "ranks.svg"
    res = run_flyer("trace", "analyze", str(traces / "a"), "--plot", str(svg))
    assert res.returncode == 0, res.stderr
    assert "straggler: rank 5" in svg.read_text() and f"wrote {svg}" in res.stderr
    res = run_flyer("trace", "diff", str(traces / "a"), str(traces / "b"), "--plot", str(tmp_path / "d.pdf"))
    assert res.returncode == 2 and "--plot" in res.stderr and not (tmp_path / "d.pdf").exists()
