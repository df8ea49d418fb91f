"""Small pure-Python references for fs3: the specification the core's placement and the id code follow."""

from __future__ import annotations

from collections import Counter
from itertools import combinations


def targets_per_disk(v: int, k: int, min_r: int = 1) -> int:
    """The guide's rule: the smallest r >= min_r with v*r divisible by k and r(k-1) >= v-1."""
    r = min_r
    while not (v * r % k == 0 and r * (k - 1) >= v - 1):
        r += 1
    return r


def pair_counts(blocks, v: int) -> dict[tuple[int, int], int]:
    lam = {p: 0 for p in combinations(range(v), 2)}
    for b in blocks:
        for p in combinations(sorted(b), 2):
            lam[p] += 1
    return lam


def bounds(v: int, k: int, r: int) -> tuple[int, int]:
    total = r * (k - 1)
    return total // (v - 1), -(-total // (v - 1))


def excess(blocks, v: int, k: int, r: int) -> int:
    lo, hi = bounds(v, k, r)
    return sum(max(0, x - hi) + max(0, lo - x) for x in pair_counts(blocks, v).values())


def check_incidence(blocks, v: int, k: int, r: int) -> None:
    """Every chain has k distinct nodes in range, every node is in exactly r chains, b = v*r/k chains."""
    assert len(blocks) == v * r // k
    for b in blocks:
        assert len(b) == k and len(set(b)) == k and all(0 <= x < v for x in b)
        assert list(b) == sorted(b)
    assert Counter(x for b in blocks for x in b) == {x: r for x in range(v)}


def target_id(tp: int, node: int, disk: int, t: int) -> int:
    return ((tp * 10**6 + node) * 10**3 + disk + 1) * 100 + t + 1


def chain_id(cp: int, disk: int, group: int) -> int:
    return (cp * 10**3 + disk + 1) * 10**5 + group


def chain_targets(blocks, node_ids, disks, tp, cp):
    """[(chain id, [target ids])] by the guide's rule: the t-th target of a node on a disk joins the t-th
    chain, in chain order, holding that node."""
    out = []
    for d in range(disks):
        seen = Counter()
        for g, b in enumerate(blocks, start=1):
            ts = []
            for x in b:
                ts.append(target_id(tp, node_ids[x], d, seen[x]))
                seen[x] += 1
            out.append((chain_id(cp, d, g), ts))
    return out
