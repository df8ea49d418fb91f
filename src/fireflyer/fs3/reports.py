"""What every ``flyer fs3`` command returns, as records: its ``--json`` is the record's encoding, and its
view reads the record's fields. Only msgspec here, so the command modules name these types (``RESULTS``)
without loading numpy or the core."""

from __future__ import annotations

import msgspec


class PeerTraffic(msgspec.Struct):
    """Targets' worth of reads a peer takes over when a disk fails, over node pairs; spread: max / min."""

    min: float
    max: float
    spread: float | None


class ChainLayout(msgspec.Struct, kw_only=True):
    """A placement as its commands report it (``Placement.summary``)."""

    nodes: int
    replication: int
    targets_per_disk: int
    chains_per_disk: int
    note: str | None
    balanced: bool
    pair_count_target: tuple[int, int]
    pair_count_histogram: dict[str, int]
    """Chains shared (as text) -> node pairs sharing that many."""
    peer_traffic: PeerTraffic
    method: str
    steps: int
    seconds: float
    moved: int


class FirstChain(msgspec.Struct):
    chain_id: int
    targets: list[int]


class PlanReport(ChainLayout, kw_only=True):
    """A chain table planned: its layout, sizes, first chain, and the files written (if any)."""

    disks: int
    chains: int
    targets: int
    first_chain: FirstChain
    written: list[str]
    blocks: list[list[int]] = []
    """The chains of one disk index (every disk index has the same) as the 0-based indices of their nodes,
    in node-id order: what shows which node pairs share chains (``--plot``)."""


class AddNodesReport(ChainLayout, kw_only=True):
    """Storage nodes added to a table: its new layout, what moves and what is created, the files written."""

    disks: int
    new_node_ids: list[int]
    chains: int
    new_chains: int
    targets_created: int
    targets_moved: int
    written: list[str]


class RenderReport(msgspec.Struct, kw_only=True):
    """What ``flyer fs3 render`` prints: the cluster, its chain layout, each node's files, where they went."""

    cluster_id: str
    admin_node: str
    layout: ChainLayout
    files: dict[str, list[str]]
    """Node name -> paths on that node."""
    written: int
    out: str
    warnings: list[str]


class InitReport(msgspec.Struct, kw_only=True):
    """What ``flyer fs3 init`` wrote."""

    written: str
    cluster_id: str
    storage_nodes: int
    disks: int
    fdb_cluster_example: str | None
    """The example FoundationDB cluster file written beside it (None when one was there)."""


class Check(msgspec.Struct, frozen=True):
    host: str
    name: str
    status: str  # pass, warn or fail
    detail: str
    fix: str | None = None


class Counts(msgspec.Struct):
    # NOTE: "pass" is a keyword: the field is pass_, encoded as "pass"
    pass_: int = msgspec.field(name="pass")
    warn: int
    fail: int


class PreflightReport(msgspec.Struct, kw_only=True):
    """What ``flyer fs3 preflight`` prints: every check, and how many passed, warned and failed."""

    ok: bool
    counts: Counts
    checks: list[Check]


class NodeCounts(msgspec.Struct):
    total: int
    by_status: dict[str, int]


class TargetCounts(msgspec.Struct):
    total: int
    by_state: dict[str, int]
    """PublicState/LocalState -> targets."""


class ChainCounts(msgspec.Struct):
    total: int
    by_status: dict[str, int]


class HealthReport(msgspec.Struct, kw_only=True):
    """What ``flyer fs3 status`` prints: counts by state, every problem, and list-nodes' rows."""

    ok: bool
    nodes: NodeCounts
    targets: TargetCounts
    chains: ChainCounts
    failures: list[str]
    warnings: list[str]
    node_rows: list[dict[str, str | list[str]]]


class Action(msgspec.Struct):
    host: str
    step: str
    what: str
    changed: bool


class ActionReport(msgspec.Struct, kw_only=True):
    """A deploy's or teardown's result: every action, and how many changed (per host)."""

    dry_run: bool
    changed: int
    changed_per_host: dict[str, int]
    actions: list[Action]
