"""DeepSeek-policy planning speed: the core against a straightforward torch implementation of the same
greedy (written here from the description in issue 3), in one process, on the same loads.

Rows: a DeepSeek-V3 plan (58 x 256 loads, 288 slots, 8 groups, 4 nodes, 32 GPUs) by each; 4096 layers
by the core (the torch baseline would take minutes there); the balanced policy for reference.
Targets: V3 plan <= 10 ms, 4096 layers <= 1 s, >= 20x faster than the baseline.

    python benchmarks/eplb_speed.py [--repeat 15] [--json]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _util import median_seconds, report

from fireflyer import eplb


def torch_packing(weight: torch.Tensor, num_packs: int):
    layers, n = weight.shape
    per = n // num_packs
    if per == 1:
        return torch.arange(n).expand(layers, n).clone(), torch.zeros(layers, n, dtype=torch.int64)
    order = weight.sort(dim=-1, descending=True, stable=True).indices
    pack = torch.full((layers, n), -1, dtype=torch.int64)
    rank = torch.full((layers, n), -1, dtype=torch.int64)
    for l in range(layers):
        load = torch.zeros(num_packs, dtype=torch.float32)
        count = torch.zeros(num_packs, dtype=torch.int64)
        for item in order[l].tolist():
            masked = torch.where(count < per, load, torch.tensor(float("inf")))
            p = int(masked.argmin())
            pack[l, item], rank[l, item] = p, count[p]
            load[p] += weight[l, item]
            count[p] += 1
    return pack, rank


def torch_replicate(weight: torch.Tensor, slots: int):
    rows, n = weight.shape
    phy2log = torch.arange(slots, dtype=torch.int64).repeat(rows, 1)
    rank = torch.zeros(rows, slots, dtype=torch.int64)
    cnt = torch.ones(rows, n, dtype=torch.int64)
    ar = torch.arange(rows)
    for i in range(n, slots):
        best = (weight / cnt).max(dim=-1).indices
        phy2log[:, i] = best
        rank[:, i] = cnt[ar, best]
        cnt[ar, best] += 1
    return phy2log, rank, cnt


def torch_rebalance(weight: torch.Tensor, replicas: int, groups: int, nodes: int, gpus: int):
    """The hierarchical greedy in plain torch ops and Python loops: the baseline."""
    weight = weight.float()
    layers, E = weight.shape
    gs, gpn, per_gpu = E // groups, groups // nodes, replicas // gpus

    def inverse(perm):
        inv = torch.empty_like(perm)
        inv.scatter_(1, perm, torch.arange(perm.size(1)).expand(perm.shape))
        return inv

    group_load = weight.unflatten(-1, (groups, gs)).sum(-1)
    gpack, grank = torch_packing(group_load, nodes)
    log2mlog = (((gpack * gpn + grank) * gs).unsqueeze(-1) + torch.arange(gs)).flatten(-2)
    mlog2log = inverse(log2mlog)
    w_mlog = weight.gather(-1, mlog2log).view(-1, E // nodes)
    phy2mlog, phyrank, mlogcnt = torch_replicate(w_mlog, replicas // nodes)
    w_phy = (w_mlog / mlogcnt).gather(-1, phy2mlog)
    pack, rank = torch_packing(w_phy, gpus // nodes)
    pphy2phy = inverse(pack * per_gpu + rank)
    pphy2mlog = phy2mlog.gather(-1, pphy2phy)
    pphy2mlog = (pphy2mlog.view(layers, nodes, -1) + torch.arange(0, E, E // nodes).view(1, -1, 1)).flatten(
        -2
    )
    phy2log = mlog2log.gather(-1, pphy2mlog)
    logcnt = mlogcnt.view(layers, -1).gather(-1, log2mlog)
    return phy2log, logcnt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    w58 = (rng.random((58, 256)) * 1000).astype(np.float32)
    w4096 = (rng.random((4096, 256)) * 1000).astype(np.float32)
    layout = (288, 8, 4, 32)

    core = eplb.rebalance_experts(torch.from_numpy(w58), *layout)
    base = torch_rebalance(torch.from_numpy(w58), *layout)
    assert torch.equal(core[0], base[0]) and torch.equal(core[2], base[1]), "baseline disagrees with the core"

    t_core = median_seconds(lambda: eplb.rebalance_experts(w58, *layout), args.repeat)
    t_base = median_seconds(lambda: torch_rebalance(torch.from_numpy(w58), *layout), max(3, args.repeat // 5))
    t_4096 = median_seconds(lambda: eplb.rebalance_experts(w4096, *layout), max(3, args.repeat // 3))
    t_bal = median_seconds(lambda: eplb.plan(w58, *layout, policy="balanced"), max(3, args.repeat // 3))
    rows = [
        ["V3 58x256 deepseek", "core", t_core * 1e3, 10.0, t_base / t_core],
        ["V3 58x256 deepseek", "torch baseline", t_base * 1e3, None, 1.0],
        ["4096x256 deepseek", "core", t_4096 * 1e3, 1000.0, None],
        ["V3 58x256 balanced", "core", t_bal * 1e3, None, t_base / t_bal],
    ]
    report(
        "eplb planning speed (median ms; speedup = baseline / this)",
        ["case", "impl", "median_ms", "target_ms", "speedup"],
        rows,
        args.json,
        {"speedup_target": 20.0, "parity_with_baseline": True},
    )


if __name__ == "__main__":
    main()
