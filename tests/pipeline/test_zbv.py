"""ZB-V is the zero-bubble paper's ZB-V exactly as torch.distributed.pipelining orders it (torch 2.13)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fireflyer import pipeline as pp

schedules = pytest.importorskip("torch.distributed.pipelining.schedules")


def _torch_order(ranks: int, microbatches: int, rank: int) -> list[tuple[str, int, int]]:
    """torch's own per-rank op list for ScheduleZBVZeroBubble, without building stages or a process group."""
    fake = SimpleNamespace(pp_group_size=ranks, num_stages=2 * ranks, _n_microbatches=microbatches)
    ops = schedules.ScheduleZBVZeroBubble._calculate_single_rank_operations(fake, rank)
    kind = {schedules.F: "F", schedules.I: "B-input", schedules.W: "W"}
    return [(kind[a.computation_type], a.stage_index, a.microbatch_index) for a in ops if a is not None]


def _ours(s: pp.Schedule, rank: int) -> list[tuple[str, int, int]]:
    lo, hi = int(s.rank_ptr[rank]), int(s.rank_ptr[rank + 1])
    return [(pp.OP_KINDS[int(s.kind[i])], int(s.stage[i]), int(s.mb[i])) for i in range(lo, hi)]


@pytest.mark.parametrize("ranks", range(1, 9))
def test_same_ops_in_the_same_order_as_torch(ranks):
    for microbatches in range(1, 3 * ranks + 3):
        s = pp.generate("zbv", ranks, microbatches)
        for rank in range(ranks):
            assert _ours(s, rank) == _torch_order(ranks, microbatches, rank), (ranks, microbatches, rank)


@pytest.mark.parametrize("ranks, microbatches", [(1, 1), (2, 3), (4, 4), (4, 8), (8, 20), (16, 64)])
def test_completes_with_two_stages_per_rank_and_split_backward(ranks, microbatches):
    r = pp.simulate("zbv", ranks, microbatches, pp.ChunkTimes(f=1, b=2, w=1))
    assert not r.deadlock and r.schedule.stages == 2 * ranks
    kinds = {pp.OP_KINDS[int(k)] for k in r.schedule.kind}
    assert kinds == {"F", "B-input", "W"}  # ZB-V never runs a full B or an overlapped F&B


def test_peak_activations_2p_not_dualpipev_2p_plus_1():
    """The old `zbv` was DualPipeV's order without overlap (peak 2P+1); ZB-V keeps 2P chunks in flight."""
    for ranks in (2, 4, 8):
        r = pp.simulate("zbv", ranks, 4 * ranks, pp.ChunkTimes(f=1, b=2, w=1))
        assert max(x.peak_activations for x in r.per_rank) == 2 * ranks
