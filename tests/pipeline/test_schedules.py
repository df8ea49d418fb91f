"""Schedule facts published by DeepSeek and the zero-bubble authors, checked on the compiled core."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fireflyer import pipeline as pp
from fireflyer.errors import CheckFailed, InputError
from fireflyer.trace_events import to_builtins

from . import pipeline_reference as reference

TIMES = pp.ChunkTimes(f=1, b=2, w=1, fb=3)


def test_golden_pp8_n20():
    one = pp.simulate("1f1b", 8, 20, TIMES)
    zb = pp.simulate("zb1p", 8, 20, TIMES)
    dp = pp.simulate("dualpipe", 8, 20, TIMES)
    assert (one.makespan, one.bubble) == (81, 21)
    assert (zb.makespan, zb.bubble) == (67, 7)
    assert dp.makespan == 66
    assert [r.idle for r in dp.per_rank] == [6] * 8
    assert [r.peak_activations for r in dp.per_rank] == [9] * 8
    assert dp.formula_bubble == 6 and dp.formula_matches


def test_default_is_the_golden_dualpipe():
    d = pp.simulate().record()
    assert (d.schedule, d.ranks, d.microbatches, d.makespan, d.bubble) == (
        "dualpipe",
        8,
        20,
        66,
        6,
    )


@pytest.mark.parametrize("P", [2, 4, 8, 16, 32])
def test_formulas_across_pp(P):
    # The regime where the README's formulas are exact: F = W = B/2, 2 <= F&B <= 3.
    for fb in (2.0, 2.5, 3.0):
        t = pp.ChunkTimes(f=1, b=2, w=1, fb=fb)
        for n in (P, 2 * P, 3 * P + 2):
            for name in ("1f1b", "zb1p"):
                r = pp.simulate(name, P, n, t)
                assert r.bubble == pytest.approx(r.formula_bubble), (name, P, n)
        for n in (2 * P, 2 * P + 2, 4 * P):
            r = pp.simulate("dualpipe", P, n, t)
            assert r.bubble == pytest.approx((P / 2 - 1) * (fb + 2 - 3)), (P, n, fb)
            assert r.formula_matches


def test_formula_differs_outside_its_regime():
    # W much smaller than B/2: the simulation, not the formula, is the truth, and the result says so.
    r = pp.simulate("dualpipe", 8, 32, pp.ChunkTimes(f=1, b=2, w=0.2, fb=2.2))
    assert r.formula_bubble == pytest.approx(3 * (2.2 + 2 - 0.6))
    assert r.formula_matches is False


@pytest.mark.parametrize("P", [2, 4, 8, 16])
def test_dualpipe_peak_activations_pp_plus_1(P):
    for n in (2 * P, 2 * P + 2, 3 * P, 6 * P):
        n += n % 2
        r = pp.simulate("dualpipe", P, n, TIMES)
        assert [x.peak_activations for x in r.per_rank] == [P + 1] * P, (P, n)


def test_1f1b_and_zb1p_peak_activations():
    assert [r.peak_activations for r in pp.simulate("1f1b", 8, 20, TIMES).per_rank] == list(range(8, 0, -1))
    assert max(r.peak_activations for r in pp.simulate("zb1p", 8, 20, TIMES).per_rank) == 8


def _counts(s: pp.Schedule, r: int) -> Counter:
    c: Counter = Counter()
    for i in range(int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])):
        k = pp.OP_KINDS[int(s.kind[i])]
        if k == "F&B":
            c["fwd"] += 1
            c["bwd"] += 1
            c["F&B"] += 1
        else:
            c[{"F": "fwd", "B": "bwd", "B-input": "bwd", "W": "W"}[k]] += 1
            c["split"] += k == "B-input"
    return c


@pytest.mark.parametrize(
    "name,P,N,stages_per_rank",
    [
        ("1f1b", 4, 8, 1),
        ("zb1p", 4, 9, 1),
        ("dualpipe", 8, 20, 2),
        ("dualpipe", 4, 8, 2),
        ("dualpipev", 3, 7, 2),
        ("dualpipev", 4, 8, 2),
        ("zbv", 5, 11, 2),
        ("interleaved-1f1b", 4, 12, 3),
    ],
)
def test_op_counts_per_rank(name, P, N, stages_per_rank):
    s = pp.generate(name, P, N, chunks=3)
    per_rank_mbs = N if name != "dualpipe" else N // 2  # each DualPipe direction carries N/2
    for r in range(P):
        c = _counts(s, r)
        assert c["fwd"] == c["bwd"] == per_rank_mbs * stages_per_rank, (r, c)
        assert c["W"] == c["split"]


def test_dualpipe_phase_counts():
    # Rank 0 of PP=8, N=20: 6 lone F, 1+1 F of both, 3 B-W-F triples, main phase of 10-8+0+1 = 3 pairs.
    s = pp.generate("dualpipe", 8, 20)
    order = s.op_order(0)
    assert order[:6] == ["F0", "F1", "F2", "F3", "F4", "F5"]
    assert order[6:8] == ["F6", "F0'"]
    assert order[8:11] == ["B-input0'", "W0'", "F1'"]
    assert sum(1 for o in order if "&" in o) == 2 * 3 + 3
    # The middle ranks run their first main-phase pair un-overlapped.
    assert sum(1 for o in s.op_order(3) if "&" in o) == 2 * 6 - 1


def _check_dependencies(res: pp.SimResult, lat: float) -> None:
    s = res.schedule
    where, f_end, b_end = {}, {}, {}
    for r in range(s.ranks):
        for i in range(int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])):
            k = int(s.kind[i])
            st, m = int(s.stage[i]), int(s.mb[i])
            if k in (0, 4):
                f_end[(st, m)] = (res.end[i], r)
            if k in (1, 2):
                b_end[(st, m)] = (res.end[i], r)
            if k == 4:
                b_end[(int(s.stage2[i]), int(s.mb2[i]))] = (res.end[i], r)
            where[i] = r

    def after(dep, i, r):
        t, dr = dep
        assert res.start[i] >= t + (lat if dr != r else 0) - 1e-9

    for i, r in where.items():
        k, st, m = int(s.kind[i]), int(s.stage[i]), int(s.mb[i])
        if k in (0, 4) and st > 0:
            after(f_end[(st - 1, m)], i, r)
        if k in (1, 2, 4):
            bs, bm = (int(s.stage2[i]), int(s.mb2[i])) if k == 4 else (st, m)
            after(b_end[(bs + 1, bm)] if bs + 1 < s.stages else f_end[(bs, bm)], i, r)
        if k == 3:
            after(b_end[(st, m)], i, r)


CASES = [
    ("1f1b", 4, 8),
    ("1f1b", 3, 2),
    ("zb1p", 8, 20),
    ("zb1p", 5, 3),
    ("interleaved-1f1b", 4, 8),
    ("zbv", 4, 8),
    ("zbv", 3, 7),
    ("dualpipe", 8, 20),
    ("dualpipe", 6, 14),
    ("dualpipev", 3, 7),
    ("dualpipev", 5, 13),
    ("dualpipev", 4, 9),
]


@pytest.mark.parametrize("name,P,N", CASES)
@pytest.mark.parametrize("lat", [0.0, 0.3])
def test_dependencies_no_overlap_and_reference(name, P, N, lat):
    s = pp.generate(name, P, N)
    rng = np.random.default_rng(P * 100 + N)
    b = rng.uniform(1.0, 3.0, s.stages)
    times = pp.ChunkTimes(
        f=tuple(rng.uniform(0.5, 2.0, s.stages)),
        b=tuple(b),
        w=tuple(b * rng.uniform(0.1, 0.9, s.stages)),
        fb=tuple(rng.uniform(1.0, 4.0, s.stages)),
        latency=lat,
    )
    res = pp.simulate_schedule(s, times).check()
    _check_dependencies(res, lat)
    for r in range(P):
        lo, hi = int(s.rank_ptr[r]), int(s.rank_ptr[r + 1])
        st, en = res.start[lo:hi], res.end[lo:hi]
        assert np.all(st[1:] >= en[:-1] - 1e-9), "two ops overlap on one rank"
    f, bb, w, fb = times.arrays()
    ref_start, ref_end, ref_busy, ref_peak = reference.simulate(s, list(f), list(bb), list(w), list(fb), lat)
    np.testing.assert_allclose(res.start, ref_start, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.end, ref_end, rtol=1e-12, atol=1e-12)
    assert [x.peak_activations for x in res.per_rank] == ref_peak
    assert res.makespan == pytest.approx(max(ref_end))


@pytest.mark.parametrize("P,N", [(1, 2), (3, 7), (5, 11), (7, 15), (3, 9)])
def test_dualpipev_odd_ranks_and_microbatches(P, N):
    r = pp.simulate("dualpipev", P, N, pp.ChunkTimes(f=1, b=2, w=1, fb=2.5))
    assert r.schedule.stages == 2 * P
    assert r.bubble == pytest.approx((P - 1) * (2.5 + 2 - 3))
    assert all(x.peak_activations == 2 * P + 1 for x in r.per_rank)


@pytest.mark.parametrize(
    "args,field",
    [
        (("dualpipe", 7, 20), "ranks"),
        (("dualpipe", 8, 21), "microbatches"),
        (("dualpipe", 8, 14), "microbatches"),
        (("dualpipev", 4, 7), "microbatches"),
        (("nope", 4, 8), "schedule"),
        (("1f1b", 0, 8), "ranks"),
        (("interleaved-1f1b", 4, 10), "microbatches"),
        (("1f1b", 4, 0), "microbatches"),
    ],
)
def test_invalid_configs(args, field):
    with pytest.raises(InputError) as e:
        pp.generate(*args)
    assert e.value.field == field


@pytest.mark.parametrize(
    "kw", [dict(f=0), dict(b=-1), dict(w=3, b=2), dict(fb=0), dict(latency=-1.0), dict(f=float("nan"))]
)
def test_invalid_times(kw):
    with pytest.raises(InputError):
        pp.ChunkTimes(**kw)


def test_deadlock_report_names_rank_and_op():
    s = pp.generate("1f1b", 2, 2)
    # Swap rank 1's first two ops: its B0 now waits for its own F0, which comes after it.
    kind, stage, mb = s.kind.copy(), s.stage.copy(), s.mb.copy()
    lo = int(s.rank_ptr[1])
    order = [lo + 1, lo, *range(lo + 2, int(s.rank_ptr[2]))]
    kind[lo:], stage[lo:], mb[lo:] = kind[order], stage[order], mb[order]
    bad = pp.Schedule(
        name="1f1b",
        ranks=2,
        stages=2,
        microbatches=2,
        chunks=1,
        rank_ptr=s.rank_ptr,
        kind=kind,
        stage=stage,
        mb=mb,
        stage2=s.stage2,
        mb2=s.mb2,
    )
    res = pp.simulate_schedule(bad)
    assert {"rank": 1, "index": 0, "op": "B0"} in res.deadlock
    with pytest.raises(CheckFailed, match=r"rank 1 at op 0 \(B0\)"):
        res.check()


def test_compare_and_sweep():
    rows = {r.schedule: r for r in pp.compare(8, 20).schedules}
    assert set(rows) == set(pp.SCHEDULES)
    assert rows["dualpipe"].parameter_copies == 2 and rows["dualpipev"].devices == 4
    assert rows["zbv"].formula_bubble is None
    out = pp.sweep(["dualpipe", "1f1b"], [4, 5], [8, 16], [1.0], [2.0], [1.0])
    assert len(out) == 8
    errs = [r for r in out if r.error]
    assert {(r.ranks, r.microbatches) for r in errs if r.schedule == "dualpipe"} == {(5, 8), (5, 16)}
    assert pp.sweep_csv(out).splitlines()[0].startswith("schedule,ranks,microbatches")


def test_chrome_trace_events_and_busy_time():
    res = pp.simulate("dualpipe", 4, 8, pp.ChunkTimes(f=1, b=2, w=0.5, fb=2.5))
    trace = to_builtins(pp.chrome_trace(res.schedule, res.start, res.end, us_per_unit=1000.0))
    events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(events) == len(res.start)
    for r in res.per_rank:
        dur = sum(e["dur"] for e in events if e["pid"] == r.rank) / 1000.0
        assert dur == pytest.approx(r.busy)
    names = {
        e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert names == {f"rank {i}" for i in range(4)}


def test_svg_has_a_box_per_op():
    res = pp.simulate("zb1p", 4, 6, TIMES)
    text = pp.svg(res.schedule, res.start, res.end, title="zb1p <4>")
    assert text.startswith("<svg") and text.count("<rect") == len(res.start) + 1 + len(pp.render.COLORS)
    assert "zb1p &lt;4&gt;" in text


def test_compare_and_sweep_report_a_deadlock_not_a_makespan(monkeypatch):
    """No named schedule deadlocks, so the core's summary is replaced by one that says it did (a stand-in)."""
    from fireflyer.pipeline import simulator

    real = simulator._core.summarize

    def stuck(name, *args):
        r = real(name, *args)
        if name != "zb1p":
            return r
        return type(
            "Stuck",
            (),
            {"makespan": r.makespan, "bubble": r.bubble, "peak_activations": 1, "deadlocked": True},
        )()

    monkeypatch.setattr(simulator._core, "summarize", stuck)
    rows = {r.schedule: r for r in pp.compare(8, 20).schedules}
    assert rows["zb1p"].deadlocked and rows["zb1p"].makespan is None and "deadlock" in rows["zb1p"].error
    assert not rows["1f1b"].deadlocked and rows["1f1b"].makespan == 81
    sweep = pp.sweep(["zb1p"], [4], [8], [1.0], [2.0], [1.0])
    assert sweep[0].deadlocked and sweep[0].makespan is None and "deadlock" in sweep[0].error


def test_the_cli_choices_are_the_cores_names():
    assert tuple(pp.ScheduleName) == pp.SCHEDULES
    assert tuple(pp.DistBackend) == pp.BACKENDS
