"""Which storage nodes hold each chain's replicas: a balanced node-to-chain incidence, found by the core.

3FS puts ``r`` storage targets on every disk of every storage node and groups the targets of one disk index
into chains of ``k`` replicas on ``k`` different nodes. When a disk fails, the chains it served are read
from their other members, so the number of chains each pair of nodes shares (the pair count) should be as
even as possible: all equal when a balanced incomplete block design exists, otherwise differing by at most
one. The same incidence serves every disk index.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .. import host
from .._core import fs3 as _core
from ..errors import InputError
from ..host import GiB
from .reports import ChainLayout, PeerTraffic

MAX_TARGETS_PER_DISK = 99
"""3FS target ids hold the target's index on its disk in two decimal digits (1..99)."""
MAX_NODES = 4000
"""The most storage nodes the core's search takes (its pair tables grow as nodes squared)."""
TABLE_BYTES_PER_TARGET = 250
"""Memory the chain table takes per target as ``chains.build`` holds it (245 measured, 200 nodes x 99 targets
x 10 and 40 disks: peak RSS of ``plan chains`` less the search's)."""
FILES_BYTES_PER_TARGET = 660
"""The same with admin_cli's files rendered and written (``--out``): 656 measured."""
FIT_FRACTION = 0.8
"""Of the memory available now, what the table may take (the interpreter needs the rest)."""


@dataclass(frozen=True)
class Shape:
    """v nodes, k replicas per chain, r targets per disk, b chains per disk index."""

    nodes: int
    replication: int
    targets_per_disk: int
    chains_per_disk: int
    note: str | None = None
    """Why r is what it is, when it is not the guide's rule (r(k-1) >= v-1)."""


def shape(
    nodes: int, replication: int = 3, min_targets_per_disk: int = 1, targets_per_disk: int | None = None
) -> Shape:
    """The guide's rule: r is the smallest value >= ``min_targets_per_disk`` with v*r divisible by k and
    r(k-1) >= v-1 (every pair of nodes can share a chain). Where that r exceeds what target ids hold (99),
    r is the largest value <= 99 with v*r divisible by k, and ``note`` says that some pairs share no chain.
    ``targets_per_disk`` given: used as it is (v*r must be divisible by k)."""
    v, k = nodes, replication
    if not 1 <= v <= MAX_NODES:
        raise InputError(f"must be 1..{MAX_NODES}, got {v}", field="nodes")
    if k < 2:
        raise InputError(f"replication must be at least 2, got {k}", field="replication")
    if v < k:
        raise InputError(
            f"need at least {k} storage nodes for replication {k}, got {v}",
            field="nodes",
            hint="3FS needs at least two storage nodes; add nodes or lower the replication",
        )
    if targets_per_disk is not None:
        r = targets_per_disk
        if not 1 <= r <= MAX_TARGETS_PER_DISK:
            raise InputError(f"must be 1..{MAX_TARGETS_PER_DISK}, got {r}", field="targets_per_disk")
        if v * r % k:
            raise InputError(
                f"nodes x targets per disk ({v} x {r}) must be a multiple of the replication {k}",
                field="targets_per_disk",
            )
        note = None if r * (k - 1) >= v - 1 else _partial_note(v, k, r)
        return Shape(v, k, r, v * r // k, note)
    if not 1 <= min_targets_per_disk <= MAX_TARGETS_PER_DISK:
        raise InputError(
            f"must be 1..{MAX_TARGETS_PER_DISK}, got {min_targets_per_disk}", field="min_targets_per_disk"
        )
    for r in range(min_targets_per_disk, MAX_TARGETS_PER_DISK + 1):
        if v * r % k == 0 and r * (k - 1) >= v - 1:
            return Shape(v, k, r, v * r // k)
    for r in range(MAX_TARGETS_PER_DISK, min_targets_per_disk - 1, -1):
        if v * r % k == 0:
            return Shape(v, k, r, v * r // k, _partial_note(v, k, r))
    raise InputError(
        f"no targets per disk in {min_targets_per_disk}..{MAX_TARGETS_PER_DISK} makes {v} x r "
        f"a multiple of {k}",
        field="min_targets_per_disk",
    )


def _partial_note(v: int, k: int, r: int) -> str:
    return (
        f"{r} targets per disk: each node shares chains with at most {r * (k - 1)} of its {v - 1} peers "
        f"(every pair would need {-(-(v - 1) // (k - 1))}, more than 3FS target ids hold)"
    )


@dataclass
class Placement:
    """The chains of one disk index: ``blocks[c]`` are the node indices (0-based) of chain c + 1."""

    shape: Shape
    blocks: np.ndarray
    lo: int
    hi: int
    excess: int
    method: str
    steps: int
    seconds: float
    moved: int = 0
    pair_counts: dict[int, int] = field(default_factory=dict)
    """How many node pairs share each number of chains."""

    @property
    def balanced(self) -> bool:
        """Every pair count within one of every other (all equal where the mean is whole)."""
        return self.excess == 0

    def peer_traffic(self) -> tuple[float, float]:
        """(min, max) over node pairs of the targets' worth of reads a peer takes over when a disk fails:
        pair count / (k - 1), as the guide's model reports it."""
        lo, hi = min(self.pair_counts), max(self.pair_counts)
        k = self.shape.replication
        return lo / (k - 1), hi / (k - 1)

    def summary(self) -> ChainLayout:
        lo, hi = self.peer_traffic()
        return ChainLayout(
            nodes=self.shape.nodes,
            replication=self.shape.replication,
            targets_per_disk=self.shape.targets_per_disk,
            chains_per_disk=self.shape.chains_per_disk,
            note=self.shape.note,
            balanced=self.balanced,
            pair_count_target=(self.lo, self.hi),
            pair_count_histogram={str(c): n for c, n in sorted(self.pair_counts.items())},
            peer_traffic=PeerTraffic(min=lo, max=hi, spread=(hi / lo) if lo else None),
            method=self.method,
            steps=self.steps,
            seconds=round(self.seconds, 4),
            moved=self.moved,
        )


def table_bytes(s: Shape, disks: int, *, files: bool = False) -> int:
    """Memory the chain table of ``disks`` disk indices takes (``files``: with admin_cli's files rendered)."""
    targets = s.chains_per_disk * s.replication * disks
    return targets * (FILES_BYTES_PER_TARGET if files else TABLE_BYTES_PER_TARGET)


def check_table(s: Shape, disks: int, *, files: bool = False) -> None:
    """Refuse, before anything is searched or built, a chain table this machine cannot hold: InputError
    naming the table's size, the limit and the machine's memory."""
    if disks < 1:
        raise InputError(f"must be at least 1, got {disks}", field="disks")
    need = table_bytes(s, disks, files=files)
    avail, total = host.memory_available(), host.memory_total()
    limit = FIT_FRACTION * avail
    if need > limit:
        targets = s.chains_per_disk * s.replication * disks
        raise InputError(
            f"the chain table of {targets:,} targets ({s.chains_per_disk:,} chains x {s.replication} per "
            f"disk x {disks} disks){' and its files' if files else ''} needs about {need / GiB:.3g} GiB of "
            f"memory, over the limit of {limit / GiB:.3g} GiB ({FIT_FRACTION:.0%} of the {avail / GiB:.3g} "
            f"GiB available; this machine has {total / GiB:.3g} GiB)",
            field="disks",
            hint="fewer disks, nodes or targets per disk",
        )


def _check_search(seed: int, max_steps: int) -> None:
    if not 0 <= seed < 2**64:
        raise InputError(f"must be 0..2**64-1, got {seed}", field="seed")
    if not 0 <= max_steps < 2**63:
        raise InputError(
            f"must be 0 (automatic) or a positive count below 2**63, got {max_steps}", field="max_steps"
        )


def pair_histogram(blocks: np.ndarray, nodes: int) -> dict[int, int]:
    """How many of the v(v-1)/2 node pairs share each number of chains."""
    k = blocks.shape[1]
    # NOTE: counts only the pairs that occur (a key per pair), not a v x v table: 4,000 nodes stay small
    keys = []
    for i in range(k):
        for j in range(i + 1, k):
            a, b = blocks[:, i].astype(np.int64), blocks[:, j].astype(np.int64)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            keys.append((lo * nodes + hi)[lo != hi])
    shared = np.unique(np.concatenate(keys), return_counts=True)[1] if keys else np.zeros(0, np.int64)
    hist = Counter(shared.tolist())
    if nodes * (nodes - 1) // 2 > len(shared):
        hist[0] = nodes * (nodes - 1) // 2 - len(shared)
    return {int(c): int(n) for c, n in sorted(hist.items())}


def place(
    nodes: int,
    replication: int = 3,
    min_targets_per_disk: int = 1,
    *,
    targets_per_disk: int | None = None,
    seed: int = 0,
    max_steps: int = 0,
    disks: int | None = None,
    files: bool = False,
) -> Placement:
    """A balanced placement for ``nodes`` storage nodes (see ``shape`` for r), searched in the core.

    Given ``disks``, the chain table for that many disks (and, with ``files``, admin_cli's files) is first
    checked to fit in memory (``check_table``), before the search. Example: ``place(5, 3, 6)`` gives the
    guide's 10 chains per disk, every pair of nodes in 3 of them.
    """
    s = shape(nodes, replication, min_targets_per_disk, targets_per_disk)
    _check_search(seed, max_steps)
    if disks is not None:
        check_table(s, disks, files=files)
    t0 = time.perf_counter()
    p = _core.place(s.nodes, s.replication, s.targets_per_disk, seed=seed, max_steps=max_steps)
    dt = time.perf_counter() - t0
    blocks = np.asarray(p.blocks)
    return Placement(
        s, blocks, p.lo, p.hi, p.excess, p.method, p.steps, dt, 0, pair_histogram(blocks, s.nodes)
    )


def extend(
    existing: np.ndarray,
    nodes: int,
    min_targets_per_disk: int = 1,
    *,
    targets_per_disk: int | None = None,
    seed: int = 0,
    max_steps: int = 0,
    disks: int | None = None,
    files: bool = False,
) -> Placement:
    """Add storage nodes to an existing placement (``existing[c]``: node indices of chain c + 1) moving as
    few chain memberships as balance allows; existing chains keep their numbers, new chains follow.
    ``moved`` counts memberships of existing chains handed to another node (per disk index)."""
    existing = np.ascontiguousarray(existing, dtype=np.int32)
    k = existing.shape[1]
    old_nodes = int(existing.max()) + 1
    if nodes <= old_nodes:
        raise InputError(f"the layout has {old_nodes} nodes; ask for more, got {nodes}", field="nodes")
    old_r = int(np.bincount(existing.ravel()).max())
    s = shape(nodes, k, max(min_targets_per_disk, old_r), targets_per_disk)
    _check_search(seed, max_steps)
    if disks is not None:
        check_table(s, disks, files=files)
    t0 = time.perf_counter()
    p = _core.extend(existing, s.nodes, s.targets_per_disk, seed=seed, max_steps=max_steps)
    dt = time.perf_counter() - t0
    blocks = np.asarray(p.blocks)
    return Placement(
        s, blocks, p.lo, p.hi, p.excess, p.method, p.steps, dt, p.moved, pair_histogram(blocks, s.nodes)
    )
