"""The documents `flyer pipeline` prints with --json, as records: what each key is, for `flyer schema`.

Times are in the unit of the chunk times given (simulate, compare, sweep) or in seconds (measure, run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msgspec import Struct

from ..compat import StrEnum
from ..errors import CheckFailed
from ..gates import Check

if TYPE_CHECKING:
    from .simulator import ChunkTimes


class ScheduleName(StrEnum):
    """The schedules the core generates (``pipeline.SCHEDULES``, in its order)."""

    ONE_F_ONE_B = "1f1b"
    INTERLEAVED_1F1B = "interleaved-1f1b"
    ZB1P = "zb1p"
    ZBV = "zbv"
    DUALPIPE = "dualpipe"
    DUALPIPEV = "dualpipev"


class DistBackend(StrEnum):
    """torch.distributed backends `flyer pipeline run` uses (``pipeline.BACKENDS``)."""

    GLOO = "gloo"
    NCCL = "nccl"


class _Record(Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class MeanTimes(_Record):
    """Mean chunk times over the stages."""

    f: float
    b: float
    w: float
    fb: float


class SimTimes(MeanTimes):
    latency: float
    """Point-to-point latency between ranks."""


class RankTimes(_Record):
    rank: int
    busy: float
    idle: float
    peak_activations: int
    ops: int


class Stuck(_Record):
    """A rank of a deadlocked schedule: the op it waits at."""

    rank: int
    index: int
    op: str


class Simulation(_Record):
    """`flyer pipeline simulate`: one schedule's makespan, bubble and per-rank figures."""

    schedule: str
    ranks: int
    stages: int
    microbatches: int
    times: SimTimes
    makespan: float
    bubble: float
    """The largest per-rank idle time."""
    bubble_fraction: float
    formula_bubble: float | None
    """The published formula's bubble; None where the schedule has none."""
    formula_matches: bool | None
    parameter_copies: int
    peak_activations: int
    per_rank: list[RankTimes]
    deadlock: list[Stuck] | None


class Figures(_Record):
    """A simulated configuration's figures; None where it cannot run (``error`` says why) or deadlocks."""

    makespan: float | None
    bubble: float | None
    bubble_fraction: float | None
    formula_bubble: float | None
    formula_matches: bool | None
    peak_activations: int | None
    parameter_copies: int | None
    deadlocked: bool | None
    error: str | None


class ScheduleRow(Figures):
    """One schedule of `flyer pipeline compare`; one that cannot run has ``error`` set and no figures."""

    schedule: str
    stages: int
    devices: int | None
    ranks: int | None = None
    """Devices the schedule runs on (absent where it cannot run)."""
    microbatches: int | None = None


class ScheduleComparison(_Record):
    """`flyer pipeline compare`: every schedule at the same number of stages."""

    stages: int
    microbatches: int
    schedules: list[ScheduleRow]

    def checks(self) -> list[Check]:
        """The comparison as JUnit testcases, one per schedule: one that deadlocks fails, one that cannot
        run this configuration is skipped (its error says why), the rest pass with their bubble fraction."""
        return [
            Check(
                name=r.schedule,
                classname="pipeline.compare",
                passed=None if r.error is not None and not r.deadlocked else not r.deadlocked,
                figure=r.bubble_fraction,
                message=r.error or ("deadlocks: no rank can go on" if r.deadlocked else ""),
            )
            for r in self.schedules
        ]

    def check(self) -> None:
        """Raise CheckFailed (exit 1) naming the schedules that deadlock."""
        stuck = [r.schedule for r in self.schedules if r.deadlocked]
        if stuck:
            raise CheckFailed(f"{len(stuck)} schedules deadlock: {', '.join(stuck)}")


class SweepRow(Figures):
    """One combination of `flyer pipeline sweep`; one it cannot run has ``error`` set and no figures."""

    schedule: str
    ranks: int
    microbatches: int
    f: float
    b: float
    w: float
    fb: float | None
    latency: float


class SweepWritten(_Record):
    """`flyer pipeline sweep --out FILE`: what was written."""

    configs: int
    errors: int
    out: str


class _FrozenRecord(Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    pass


class MeasureResult(_FrozenRecord, frozen=True):
    """Median seconds of each chunk kind on one block (all times in seconds), with what was measured and
    where."""

    model: str
    """Name of the model profile the block was scaled from."""
    device: str
    """Where it ran, e.g. ``cpu (Intel Xeon ..., 2 threads)`` or ``cuda (NVIDIA H100 ...)``."""
    dtype: str
    dims: dict[str, Any]
    """The block's actual dimensions (hidden, heads, ranks, experts, top-k, tokens, ...)."""
    f: float
    """Forward of one micro-batch."""
    b: float
    """Full backward: input and weight gradients."""
    b_input: float
    """Split backward, first half: gradients towards the input only."""
    w: float
    """Split backward, second half: the weight gradients (at most ``b``)."""
    fb: float
    """F&B: F + B, as one device runs them one after the other."""
    samples: int
    """Timed steps actually run: at least the count asked for, more until ``sample_seconds`` passed."""
    sample_seconds: float
    """The minimum time of the timed steps asked for."""
    warmup: int
    """Untimed warm-up steps actually run."""
    warmup_seconds: float
    """The minimum warm-up time asked for."""
    threads: int | None
    """CPU threads torch was fixed to (None on CUDA)."""
    spread: dict[str, dict[str, float]] = {}
    """Per chunk kind, p20 and p80 of the samples in seconds."""
    fresh_process: bool = False
    """Measured in a fresh process with the steady heap (``fireflyer.timing.STEADY_HEAP``)."""
    notes: tuple[str, ...] = ()

    def chunk_times(self, latency: float = 0.0) -> ChunkTimes:
        """These times as the simulator's chunk times (seconds)."""
        from .simulator import ChunkTimes

        return ChunkTimes(f=self.f, b=self.b, w=self.w, fb=self.fb, latency=latency)


class Measurement(_Record):
    """`flyer pipeline measure`: the block's chunk times and the schedule simulated with them."""

    measured: MeasureResult
    simulated: Simulation


class Makespan(_Record):
    makespan: float
    bubble: float
    bubble_fraction: float


class RunRank(_Record):
    rank: int
    ops: int
    op_order_matches: bool
    measured_busy: float
    measured_idle: float
    simulated_idle: float


class RunReport(_Record):
    """`flyer pipeline run`: one real training step beside its single-process reference and simulation."""

    schedule: str
    ranks: int
    stages: int
    microbatches: int
    hidden: int
    batch: int
    seed: int
    backend: str
    loss: float
    reference_loss: float
    max_cosine_difference: float
    max_abs_grad_difference: float
    op_order_matches: bool
    measured: Makespan
    simulated: Makespan
    chunk_times: MeanTimes
    p2p_latency: float
    per_rank: list[RunRank]
    wall_seconds: float
    notes: list[str]
