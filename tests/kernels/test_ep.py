"""MoE dispatch and combine on real gloo process groups (2 and 4 ranks): per-expert counts equal the routing
histogram exactly, combine(dispatch(x)) = x * sum(weights), and the two backends receive the same tokens."""

from __future__ import annotations

import pytest
import torch

from fireflyer.cluster import launch_local
from fireflyer.kernels import EpCase, ep
from fireflyer.kernels.ep_routing import DROPPED

CASES = [
    EpCase(tokens=24, hidden=256, topk=3, experts=8),
    EpCase(tokens=24, hidden=256, topk=3, experts=8, fp8=True, seed=1),
    EpCase(tokens=16, hidden=256, topk=4, experts=8, mode="low_latency", fp8=True),
    EpCase(tokens=16, hidden=256, topk=2, experts=8, mode="low_latency", seed=2),
]


def _received(rank: int, world: int, cases: list[EpCase]) -> list[list[tuple[int, float]]]:
    """Per case and local expert, what the reference and torch exchanges deliver (count, checksum)."""
    out = []
    for case in cases:
        routing = ep.make_routing(case, rank)
        got = []
        for cls in (ep.ReferenceExchange, ep.TorchExchange):
            rec = cls(case, routing, rank, world).dispatch()
            per = []
            for e in range(case.experts // world):
                if rec.expert is not None:
                    rows = rec.tokens()[rec.expert == e]
                else:
                    rows = rec.tokens()[(rec.local_idx == e).any(-1)]
                per.append((rows.shape[0], round(float(rows.float().sum(0).abs().sum()), 2)))
            got.append(per)
        out.append(got)
    return out


def _rank(rank: int, world: int, cases: list[EpCase]) -> tuple:
    options = {"warmup": 1, "samples": 2, "threads": 1}
    return ep.run_rank(rank, world, cases, ["reference", "torch"], options), _received(rank, world, cases)


@pytest.mark.parametrize("world, cases", [(2, CASES), (4, CASES[1:3])], ids=["2 ranks", "4 ranks"])
def test_dispatch_combine_on_gloo_ranks(world, cases):
    results = launch_local(_rank, world, cases)
    for rank_results, _ in results:
        for case, per_backend in zip(cases, rank_results):
            for r in per_backend:
                assert r.skipped is None
                assert r.counts_ok, (case, r)
                assert r.correct and r.error_metric < ep.TOLERANCE, (case, r)
                assert r.dispatch["samples"] == 2 and r.combine["median_us"] > 0
                assert r.dispatch_bytes > 0 and r.combine_bytes > 0
    for _, per_rank in results:
        for ref, tor in per_rank:
            assert ref == tor


def test_bytes_as_deepep_counts_them():
    case = EpCase(tokens=8, hidden=256, topk=2, experts=4, mode="low_latency", fp8=True)
    routing = ep.make_routing(case, 0)
    ex = ep.TorchExchange(case, routing, 0, 1)
    selections = int((routing.topk_idx >= 0).sum())
    assert ex.sent_bytes(None) == (selections * (256 + 8 + 16), selections * 512)  # type: ignore[arg-type]


def test_check_rejects_wrong_counts_and_wrong_sums():
    case = EpCase(tokens=8, hidden=128, topk=2, experts=4)
    routing = ep.make_routing(case, 0)
    ex = ep.ReferenceExchange(case, routing, 0, 1)
    want = torch.bincount(routing.topk_idx[routing.topk_idx >= 0], minlength=4).tolist()
    good = ep.expected_combine(case, routing).to(torch.bfloat16)
    rec = ep.Received(routing.x, want)
    assert ep.check(ex, rec, good, want)[0]
    assert not ep.check(ex, ep.Received(routing.x, [want[0] + 1, *want[1:]]), good, want)[0]
    assert not ep.check(ex, rec, good * 1.01, want)[0]


def test_routing_is_seeded_per_rank_and_drops_some():
    case = EpCase(tokens=64, hidden=128, topk=4, experts=16)
    a, b = ep.make_routing(case, 0), ep.make_routing(case, 0)
    assert torch.equal(a.topk_idx, b.topk_idx) and torch.equal(a.x, b.x)
    assert not torch.equal(a.topk_idx, ep.make_routing(case, 1).topk_idx)
    assert (a.topk_idx == -1).sum() == DROPPED
