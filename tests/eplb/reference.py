"""Pure-Python DeepSeek EPLB, written from the description in issue 3 (not from DeepSeek's code).

float32 arithmetic throughout, as the reference does; equal loads ordered lower index first.
"""

from __future__ import annotations

import numpy as np

f32 = np.float32


def balanced_packing(weights: list, num_packs: int) -> tuple[list[int], list[int]]:
    """Items in descending weight order into the lightest pack with room (ties: lowest pack index)."""
    n = len(weights)
    if n == num_packs:
        return list(range(n)), [0] * n
    per = n // num_packs
    order = sorted(range(n), key=lambda i: (-float(weights[i]), i))
    load = [f32(0)] * num_packs
    items = [0] * num_packs
    pack, rank = [0] * n, [0] * n
    for i in order:
        best = min((p for p in range(num_packs) if items[p] < per), key=lambda p: (load[p], p))
        pack[i], rank[i] = best, items[best]
        items[best] += 1
        load[best] = f32(load[best] + f32(weights[i]))
    return pack, rank


def replicate(weights: list, slots: int) -> tuple[list[int], list[int]]:
    """slots - n rounds, each giving one more replica to the highest load per replica (ties: lowest index)."""
    n = len(weights)
    phy2log, cnt = list(range(n)), [1] * n
    for _ in range(slots - n):
        per = [f32(weights[e]) / f32(cnt[e]) for e in range(n)]
        best = max(range(n), key=lambda e: (per[e], -e))
        phy2log.append(best)
        cnt[best] += 1
    return phy2log, cnt


def rebalance_layer(
    w: list, replicas: int, groups: int, nodes: int, gpus: int
) -> tuple[list[int], list[int]]:
    if groups % nodes:
        groups = nodes = 1
    E = len(w)
    gs, gpn = E // groups, groups // nodes
    per_gpu, Rn, En, gpus_n = replicas // gpus, replicas // nodes, E // nodes, gpus // nodes
    group_load = []
    for g in range(groups):
        acc = f32(0)
        for j in range(gs):
            acc = f32(acc + f32(w[g * gs + j]))
        group_load.append(acc)
    gpack, grank = balanced_packing(group_load, nodes)
    mlog2log = [0] * E
    for g in range(groups):
        for j in range(gs):
            mlog2log[(gpack[g] * gpn + grank[g]) * gs + j] = g * gs + j
    phy2log, logcnt = [0] * replicas, [0] * E
    for n in range(nodes):
        wn = [f32(w[mlog2log[n * En + i]]) for i in range(En)]
        p2m, cnt = replicate(wn, Rn)
        tp = [wn[m] / f32(cnt[m]) for m in p2m]
        pk, rk = balanced_packing(tp, gpus_n)
        for i in range(Rn):
            phy2log[n * Rn + pk[i] * per_gpu + rk[i]] = mlog2log[n * En + p2m[i]]
        for i in range(En):
            logcnt[mlog2log[n * En + i]] = cnt[i]
    return phy2log, logcnt


def rebalance(weight, replicas: int, groups: int, nodes: int, gpus: int):
    out = [
        rebalance_layer(list(np.asarray(row, dtype=np.float32)), replicas, groups, nodes, gpus)
        for row in weight
    ]
    return np.array([p for p, _ in out]), np.array([c for _, c in out])


def max_gpu_load(w, phy2log, gpus: int) -> float:
    """Exact max GPU load of one layer's plan (float64)."""
    cnt = np.bincount(phy2log, minlength=len(w))
    share = np.asarray(w, dtype=np.float64)[phy2log] / cnt[phy2log]
    return float(share.reshape(gpus, -1).sum(axis=1).max())
