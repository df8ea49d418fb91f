"""Pure-Python DeepSeek EPLB, written from the description in issue 3 (not from DeepSeek's code).

float32 arithmetic throughout, as the reference does: float32 pack sums, float32 loads per replica, the first
pack or expert on ties. Items are ordered as the reference orders them, by torch's descending sort (its
order among equal loads is torch's; integer loads tie everywhere), and group loads are torch's float32 sums.
``log2phy`` lists each expert's slots in replica order.
"""

from __future__ import annotations

import numpy as np
import torch

f32 = np.float32


def torch_order(weights) -> list[int]:
    return torch.tensor(np.asarray(weights, dtype=np.float32)).sort(descending=True).indices.tolist()


def balanced_packing(weights: list, num_packs: int, sums=f32) -> tuple[list[int], list[int]]:
    """Items in torch's descending order into the lightest pack with room (ties: lowest pack index)."""
    n = len(weights)
    if n == num_packs:
        return list(range(n)), [0] * n
    per = n // num_packs
    load = [sums(0)] * num_packs
    items = [0] * num_packs
    pack, rank = [0] * n, [0] * n
    for i in torch_order(weights):
        best = min((p for p in range(num_packs) if items[p] < per), key=lambda p: (load[p], p))
        pack[i], rank[i] = best, items[best]
        items[best] += 1
        load[best] = sums(load[best] + sums(weights[i]))
    return pack, rank


def replicate(weights: list, slots: int) -> tuple[list[int], list[int], list[int]]:
    """slots - n rounds, each giving one more replica to the highest load per replica (ties: lowest index);
    returns (phy2log, replica rank of each slot, counts)."""
    n = len(weights)
    phy2log, rank, cnt = list(range(n)), [0] * n, [1] * n
    for _ in range(slots - n):
        per = [f32(weights[e]) / f32(cnt[e]) for e in range(n)]
        best = max(range(n), key=lambda e: (per[e], -e))
        phy2log.append(best)
        rank.append(cnt[best])
        cnt[best] += 1
    return phy2log, rank, cnt


def rebalance_layer(w: list, replicas: int, groups: int, nodes: int, gpus: int, sums=f32):
    """(phy2log, replica rank per slot, logcnt) of one layer."""
    if groups % nodes:
        groups = nodes = 1
    E = len(w)
    gs, gpn = E // groups, groups // nodes
    per_gpu, Rn, En, gpus_n = replicas // gpus, replicas // nodes, E // nodes, gpus // nodes
    group_load = torch.tensor(np.asarray(w, dtype=np.float32)).view(groups, gs).sum(-1).tolist()
    gpack, grank = balanced_packing([f32(x) for x in group_load], nodes, sums)
    mlog2log = [0] * E
    for g in range(groups):
        for j in range(gs):
            mlog2log[(gpack[g] * gpn + grank[g]) * gs + j] = g * gs + j
    phy2log, phyrank, logcnt = [0] * replicas, [0] * replicas, [0] * E
    for n in range(nodes):
        wn = [f32(w[mlog2log[n * En + i]]) for i in range(En)]
        p2m, rk, cnt = replicate(wn, Rn)
        tp = [wn[m] / f32(cnt[m]) for m in p2m]
        pk, rr = balanced_packing(tp, gpus_n, sums)
        for i in range(Rn):
            slot = n * Rn + pk[i] * per_gpu + rr[i]
            phy2log[slot] = mlog2log[n * En + p2m[i]]
            phyrank[slot] = rk[i]
        for i in range(En):
            logcnt[mlog2log[n * En + i]] = cnt[i]
    return phy2log, phyrank, logcnt


def rebalance(weight, replicas: int, groups: int, nodes: int, gpus: int, sums=f32):
    """(phy2log [L, R], log2phy [L, E, K] in replica order, logcnt [L, E]) as numpy arrays."""
    out = [
        rebalance_layer(list(np.asarray(row, dtype=np.float32)), replicas, groups, nodes, gpus, sums)
        for row in weight
    ]
    p2l = np.array([p for p, _, _ in out])
    cnt = np.array([c for _, _, c in out])
    k = int(cnt.max())
    l2p = np.full((len(out), cnt.shape[1], k), -1)
    for layer, (p, r, _) in enumerate(out):
        for slot, (e, rank) in enumerate(zip(p, r)):
            l2p[layer, e, rank] = slot
    return p2l, l2p, cnt


def max_gpu_load(w, phy2log, gpus: int) -> float:
    """Exact max GPU load of one layer's plan (float64)."""
    cnt = np.bincount(phy2log, minlength=len(w))
    share = np.asarray(w, dtype=np.float64)[phy2log] / cnt[phy2log]
    return float(share.reshape(gpus, -1).sum(axis=1).max())
