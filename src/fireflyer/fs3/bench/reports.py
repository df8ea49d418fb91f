"""What every ``flyer fs3 bench`` command returns, as records: its ``--json`` (and ``--out`` file) is the
record's encoding, and its view reads the record's fields. Only msgspec here, so the command module names
these types (``RESULTS``) without loading numpy or the core."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from ..reports import Counts

R = TypeVar("R")


class Latency(msgspec.Struct, frozen=True):
    """Per-I/O latency from submission to completion, in microseconds; ``samples``: the latencies the
    summary is drawn from (None: fio's own histogram)."""

    p50_us: float | None
    p99_us: float | None
    mean_us: float
    samples: int | None


class PublishedReport(msgspec.Struct, kw_only=True):
    """A published figure scaled to the nodes used (``scaled`` = ``per_node`` x ``nodes``, in ``unit``)."""

    figure: str
    per_node: float
    nodes: int
    unit: str
    source: str
    scaled: float

    def share(self, measured: float) -> float:
        """measured / the published figure scaled to ``nodes``."""
        return measured / self.scaled


class IoReport(msgspec.Struct, kw_only=True, tag_field="scope", tag="host"):
    """``flyer fs3 bench io``: one I/O pattern's throughput, IOPS and latency on one host (``scope``: host;
    on every client node of a Ray cluster the command prints an ``IoClientsReport``)."""

    path: str
    host: str
    engine: str
    engine_version: str
    pattern: str
    size: int
    block: int
    jobs: int
    iodepth: int
    runtime_limit_s: float
    direct: bool
    bytes: int
    ops: int
    seconds: float
    gib_s: float
    iops: float
    latency: Latency
    published: PublishedReport | None
    share: float | None
    notes: list[str]


class PhaseReport(msgspec.Struct, kw_only=True):
    name: str
    ops: int
    seconds: float
    ops_s: float
    latency: Latency


class MetaReport(msgspec.Struct, kw_only=True, tag_field="scope", tag="host"):
    """``flyer fs3 bench meta``: operations per second of each metadata phase on one host."""

    path: str
    host: str
    files: int
    dirs: int
    jobs: int
    file_bytes: int
    phases: list[PhaseReport]
    published: None
    notes: list[str]


class Validation(msgspec.Struct):
    """What the check of a sorted output found; ``ok`` when every check passed (no ``problems``)."""

    records: int
    expected_records: int
    partitions: int
    """Partition files holding records."""
    disorder: int
    """Keys smaller than the key before them, within partitions."""
    boundary_disorder: int
    """Partitions whose first key is smaller than the previous partition's last key."""
    checksum_ok: bool
    duplicates: int | None
    """Record indices seen more than once (None when the index map would not fit in memory)."""
    missing: int | None
    problems: tuple[str, ...] = ()
    ok: bool = True

    def __post_init__(self) -> None:
        self.ok = not self.problems


class SortReport(msgspec.Struct, kw_only=True):
    """``flyer fs3 bench sort``: the GraySort's rate, each phase's seconds, and the output's check."""

    path: str
    host: str
    size: int
    records: int
    bytes: int
    partitions: int
    seed: int
    nodes: int
    cpus: int
    ray_address: str
    seconds: dict[str, float]
    gib_s: float
    tib_per_min: float
    published: PublishedReport
    share: float
    validation: Validation
    versions: dict[str, str]


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    check: str
    label: str
    measured: float
    unit: str
    limit: float | None
    maximum: bool
    published: float | None
    """The published figure scaled to the nodes used, where one exists."""
    share: float | None
    status: str | None
    """pass, warn, fail, or None when no threshold applies."""
    why: str = ""


class SuiteCounts(Counts):
    """Verdicts by status, and figures without a threshold."""

    unchecked: int


class KvReport(msgspec.Struct, kw_only=True, tag_field="scope", tag="host"):
    """``flyer fs3 bench kvcache``: random reads of KV-block-sized chunks from large files on one host."""

    path: str
    host: str
    engine_version: str
    block: int
    files: int
    file_size: int
    concurrency: int
    """Reads in flight: ``jobs`` threads x ``concurrency / jobs`` each."""
    jobs: int
    seconds_limit: float
    direct: bool
    bytes: int
    ops: int
    seconds: float
    gib_s: float
    iops: float
    latency: Latency
    published: PublishedReport
    share: float
    notes: list[str]


# ---- On every client node at once (Ray) ----------------------------------------------------------------


class ClientNode(msgspec.Struct, frozen=True, kw_only=True):
    """A Ray node that ran one client's job."""

    host: str
    ip: str
    node_id: str


class Comparison(msgspec.Struct, kw_only=True):
    """A published figure scaled to this run, and the measured aggregate's share of it."""

    published: PublishedReport
    share: float


class Spread(msgspec.Struct, frozen=True, kw_only=True):
    """Latency across clients: the median of their p50s, the median and the worst of their p99s. Not a
    percentile of every I/O together (that needs the histograms, which fio does not print)."""

    p50_us_median: float | None
    p99_us_median: float | None
    p99_us_max: float | None


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """When the clients ran, by their nodes' clocks (so within the nodes' clock skew): ``start_spread_s``
    from the first start to the last, ``wall_s`` from the first start to the last end."""

    start_spread_s: float
    wall_s: float


class Aggregate(msgspec.Struct, kw_only=True):
    """Every client together: bytes, operations, GiB/s and IOPS summed (each client's over its own run,
    the runs started together behind a barrier), latency as a Spread."""

    clients: int
    bytes: int
    ops: int
    gib_s: float
    iops: float
    latency: Spread


class ClientRun(msgspec.Struct, Generic[R], kw_only=True):
    """One client's record (``result``), where and when it ran."""

    node: ClientNode
    started_s: float
    """Seconds after the first client started (by the nodes' clocks)."""
    ended_s: float
    result: R


class ClientsBase(msgspec.Struct, kw_only=True):
    path: str
    ray_address: str
    window: Window
    notes: list[str]


class IoClientsReport(ClientsBase, tag_field="scope", tag="clients"):
    """``flyer fs3 bench io --ray-address``: one I/O pattern on every chosen client node at once."""

    pattern: str
    storage_nodes: int | None
    clients: list[ClientRun[IoReport]]
    aggregate: Aggregate
    published: list[Comparison]


class KvClientsReport(ClientsBase, tag_field="scope", tag="clients"):
    """``flyer fs3 bench kvcache --ray-address``: the KVCache reads on every chosen client node at once."""

    clients: list[ClientRun[KvReport]]
    aggregate: Aggregate
    published: list[Comparison]


class PhaseAggregate(msgspec.Struct, kw_only=True):
    """One metadata phase over every client: operations and ops/s summed (each client times its phases on
    its own, so they overlap only as far as the clients keep pace), latency as a Spread."""

    name: str
    ops: int
    ops_s: float
    latency: Spread


class MetaClientsReport(ClientsBase, tag_field="scope", tag="clients"):
    """``flyer fs3 bench meta --ray-address``: the metadata phases on every chosen client node at once."""

    clients: list[ClientRun[MetaReport]]
    phases: list[PhaseAggregate]


class SuiteReport(msgspec.Struct, kw_only=True):
    """``flyer fs3 bench all``: every figure's verdict against its threshold, and each run's report. With
    ``ray_address``, io, meta and kvcache ran on ``clients`` client nodes at once (their reports are the
    ``scope: clients`` forms) and the verdicts judge the aggregates."""

    path: str
    host: str
    ray_address: str | None
    clients: int | None
    """Client nodes io ran on (None: this host alone)."""
    summary: list[Verdict]
    counts: SuiteCounts
    passed: bool
    thresholds: dict[str, float]
    io: list[IoReport | IoClientsReport]
    meta: MetaReport | MetaClientsReport
    kvcache: KvReport | KvClientsReport | None
    sort: SortReport | None
