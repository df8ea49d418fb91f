"""What every ``flyer fs3 bench`` command returns, as records: its ``--json`` (and ``--out`` file) is the
record's encoding, and its view reads the record's fields. Only msgspec here, so the command module names
these types (``RESULTS``) without loading numpy or the core."""

from __future__ import annotations

import msgspec

from ..reports import Counts


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


class IoReport(msgspec.Struct, kw_only=True):
    """``flyer fs3 bench io``: one I/O pattern's throughput, IOPS and latency."""

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


class MetaReport(msgspec.Struct, kw_only=True):
    """``flyer fs3 bench meta``: operations per second of each metadata phase."""

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


class SuiteReport(msgspec.Struct, kw_only=True):
    """``flyer fs3 bench all``: every figure's verdict against its threshold, and each run's report."""

    path: str
    host: str
    summary: list[Verdict]
    counts: SuiteCounts
    passed: bool
    thresholds: dict[str, float]
    io: list[IoReport]
    meta: MetaReport
    sort: SortReport | None
