"""What every ``flyer fs3`` command returns, as records: its ``--json`` is the record's encoding, and its
view reads the record's fields. Only msgspec here, so the command modules name these types (``RESULTS``)
without loading numpy or the core."""

from __future__ import annotations

import msgspec

from ..compat import StrEnum


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


class HostHealth(msgspec.Struct, kw_only=True):
    """One host of ``fs3 status``: the 3FS services list-nodes shows on it and its targets."""

    host: str
    """list-nodes' Hostname (``node ID`` for targets on a node list-nodes does not show)."""
    services: list[str]
    """Types of the nodes on it (MGMTD, META, STORAGE, ...)."""
    state: str
    """OK, or the first service's status that is not (``MISSING`` for a node list-nodes lacks)."""
    targets: int
    targets_ok: int
    """Its targets that are SERVING and UPTODATE."""

    @property
    def ok(self) -> bool:
        return self.state == "OK" and self.targets_ok == self.targets


class HealthReport(msgspec.Struct, kw_only=True):
    """What ``flyer fs3 status`` prints: counts by state, every problem, list-nodes' rows and one row per
    host."""

    ok: bool
    nodes: NodeCounts
    targets: TargetCounts
    chains: ChainCounts
    failures: list[str]
    warnings: list[str]
    node_rows: list[dict[str, str | list[str]]]
    hosts: list[HostHealth] = msgspec.field(default_factory=list)


class Action(msgspec.Struct):
    host: str
    step: str
    what: str
    changed: bool


class HostState(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    """A step failed on it (or it could not be reached): its later steps were skipped."""
    WAITING = "waiting"
    """Its next step needs a host that failed (the admin host, or every storage host for the targets)."""


class HostSummary(msgspec.Struct, kw_only=True):
    """How one host ended in a deploy or teardown."""

    host: str
    state: HostState
    changed: int
    step: str | None = None
    """failed: the step it failed at; waiting: the first step left to do."""
    error: str | None = None
    """failed: the error (one line); waiting: the failed hosts that step needs."""


class ActionReport(msgspec.Struct, kw_only=True):
    """A deploy's or teardown's result: every action, how many changed (per host), how each host ended."""

    dry_run: bool
    changed: int
    changed_per_host: dict[str, int]
    actions: list[Action]
    ok: bool = True
    """Every host reached and every step done (a dry run: every host reached)."""
    hosts: list[HostSummary] = msgspec.field(default_factory=list)
    unreachable: list[str] = msgspec.field(default_factory=list)
    """Hosts that could not be reached, each with why (``name: reason``)."""
