"""Event simulation of a schedule on the compiled core: makespan, idle time, bubble, peak activations."""

from __future__ import annotations

import csv
import io
import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from .._core import pipeline as _core
from ..errors import CheckFailed, InputError
from ..io import atomic_write, dumps_json
from .records import (
    Figures,
    RankTimes,
    ScheduleComparison,
    ScheduleRow,
    SimTimes,
    Simulation,
    Stuck,
    SweepRow,
    SweepWritten,
)
from .schedules import SCHEDULES, Schedule, devices_for_stages, formula_bubble, generate


@dataclass(frozen=True, kw_only=True)
class ChunkTimes:
    """Times of one chunk on one stage, in any unit; a sequence gives one value per stage."""

    f: float | tuple[float, ...] = 1.0
    """Forward chunk."""
    b: float | tuple[float, ...] = 2.0
    """Full backward chunk (input and weight gradients)."""
    w: float | tuple[float, ...] = 1.0
    """The weight-gradient part of B; a split backward runs B - W first and W later."""
    fb: float | tuple[float, ...] | None = None
    """A forward and a backward chunk of two micro-batches run overlapped; default F + B (no gain)."""
    latency: float = 0.0
    """Point-to-point latency between ranks."""

    def __post_init__(self) -> None:
        _core.check_times(*self.arrays(), float(self.latency))

    @staticmethod
    def _arr(v: Any) -> np.ndarray:
        try:
            return np.ascontiguousarray(np.atleast_1d(np.asarray(v, dtype=np.float64)))
        except (TypeError, ValueError):
            raise InputError(f"expected a number or a list of numbers, got {v!r}") from None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        f, b, w = self._arr(self.f), self._arr(self.b), self._arr(self.w)
        fb = self._arr(self.fb) if self.fb is not None else (f + b if f.size == b.size else f.max() + b.max())
        return f, b, w, self._arr(fb)

    def scalars(self) -> dict[str, float]:
        """Mean per-stage times, for the formulas."""
        f, b, w, fb = self.arrays()
        return {"f": float(f.mean()), "b": float(b.mean()), "w": float(w.mean()), "fb": float(fb.mean())}


@dataclass(frozen=True)
class RankStats:
    rank: int
    busy: float
    idle: float
    peak_activations: int
    ops: int


@dataclass(frozen=True)
class SimResult:
    schedule: Schedule
    times: ChunkTimes
    makespan: float
    start: np.ndarray
    end: np.ndarray
    per_rank: list[RankStats]
    formula_bubble: float | None
    deadlock: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bubble(self) -> float:
        """The largest per-rank idle time."""
        return max(r.idle for r in self.per_rank)

    @property
    def bubble_fraction(self) -> float:
        return self.bubble / self.makespan if self.makespan > 0 else 0.0

    @property
    def formula_matches(self) -> bool | None:
        if self.formula_bubble is None:
            return None
        return abs(self.formula_bubble - self.bubble) <= 1e-9 * max(1.0, abs(self.bubble))

    def check(self) -> SimResult:
        """Raise CheckFailed naming the stuck rank and op if the schedule deadlocked."""
        if self.deadlock:
            stuck = ", ".join(f"rank {d['rank']} at op {d['index']} ({d['op']})" for d in self.deadlock[:4])
            more = f" and {len(self.deadlock) - 4} more ranks" if len(self.deadlock) > 4 else ""
            raise CheckFailed(f"schedule deadlocks: no rank can go on; stuck: {stuck}{more}")
        return self

    def ops(self, rank: int) -> list[dict[str, Any]]:
        """The ops of one rank with start and end times."""
        s = self.schedule
        out = []
        for i in range(int(s.rank_ptr[rank]), int(s.rank_ptr[rank + 1])):
            rec = s.label(i)
            rec["start"], rec["end"] = float(self.start[i]), float(self.end[i])
            out.append(rec)
        return out

    def record(self) -> Simulation:
        """The result as `flyer pipeline simulate --json` prints it."""
        s = self.schedule
        return Simulation(
            schedule=s.name,
            ranks=s.ranks,
            stages=s.stages,
            microbatches=s.microbatches,
            times=SimTimes(**self.times.scalars(), latency=self.times.latency),
            makespan=self.makespan,
            bubble=self.bubble,
            bubble_fraction=self.bubble_fraction,
            formula_bubble=self.formula_bubble,
            formula_matches=self.formula_matches,
            parameter_copies=s.parameter_copies,
            peak_activations=max(r.peak_activations for r in self.per_rank),
            per_rank=[
                RankTimes(
                    rank=r.rank, busy=r.busy, idle=r.idle, peak_activations=r.peak_activations, ops=r.ops
                )
                for r in self.per_rank
            ],
            deadlock=[Stuck(**d) for d in self.deadlock] or None,
        )


def simulate_schedule(schedule: Schedule, times: ChunkTimes | None = None) -> SimResult:
    """Simulate a generated (or hand-made) schedule; ``result.deadlock`` lists stuck ranks, if any."""
    times = times or ChunkTimes()
    s = schedule
    f, b, w, fb = times.arrays()
    r = _core.simulate(
        s.ranks,
        s.stages,
        s.microbatches,
        s.rank_ptr,
        s.kind,
        s.stage,
        s.mb,
        s.stage2,
        s.mb2,
        f,
        b,
        w,
        fb,
        float(times.latency),
    )
    makespan = float(r.makespan)
    per_rank = [
        RankStats(
            rank=i,
            busy=float(r.busy[i]),
            idle=makespan - float(r.busy[i]),
            peak_activations=int(r.peak_activations[i]),
            ops=s.num_ops(i),
        )
        for i in range(s.ranks)
    ]
    deadlock = [
        {"rank": int(rk), "index": int(ix), "op": s.short(int(s.rank_ptr[rk] + ix))}
        for rk, ix in zip(r.stuck_rank, r.stuck_op)
    ]
    sc = times.scalars()
    return SimResult(
        schedule=s,
        times=times,
        makespan=makespan,
        start=r.start,
        end=r.end,
        per_rank=per_rank,
        formula_bubble=formula_bubble(s.name, s.ranks, sc["f"], sc["b"], sc["w"], sc["fb"], s.chunks),
        deadlock=deadlock,
    )


def simulate(
    name: str = "dualpipe",
    ranks: int = 8,
    microbatches: int = 20,
    times: ChunkTimes | None = None,
    *,
    chunks: int = 2,
) -> SimResult:
    """Generate a named schedule and simulate it. Defaults: DualPipe, PP 8, N 20, F 1, B 2, W 1, F&B 3."""
    return simulate_schedule(generate(name, ranks, microbatches, chunks=chunks), times).check()


def _no_figures(
    error: str,
    *,
    formula_bubble: float | None = None,
    parameter_copies: int | None = None,
    deadlocked: bool | None = None,
) -> Figures:
    """The figures of a configuration that cannot run: None, but for what is known without running it."""
    return Figures(
        makespan=None,
        bubble=None,
        bubble_fraction=None,
        formula_bubble=formula_bubble,
        formula_matches=None,
        peak_activations=None,
        parameter_copies=parameter_copies,
        deadlocked=deadlocked,
        error=error,
    )


_TIME_FIELDS = ("f-time", "b-time", "w-time", "fb-time", "p2p-latency")


def summarize(name: str, ranks: int, microbatches: int, times: ChunkTimes, *, chunks: int = 2) -> Figures:
    """Scalar results of one configuration without per-op arrays (what `sweep` and `compare` need).

    A schedule that deadlocks has ``deadlocked`` true, ``error`` saying so, and no makespan, bubble or
    peak: it never finishes.
    """
    f, b, w, fb = times.arrays()
    r = _core.summarize(name, ranks, microbatches, chunks, f, b, w, fb, float(times.latency))
    sc = times.scalars()
    formula = formula_bubble(name, ranks, sc["f"], sc["b"], sc["w"], sc["fb"], chunks)
    copies = 2 if name == "dualpipe" else 1
    if r.deadlocked:
        return _no_figures(
            "deadlocks: no rank can go on", formula_bubble=formula, parameter_copies=copies, deadlocked=True
        )
    return Figures(
        makespan=r.makespan,
        bubble=r.bubble,
        bubble_fraction=r.bubble / r.makespan if r.makespan else 0.0,
        formula_bubble=formula,
        formula_matches=None if formula is None else abs(formula - r.bubble) <= 1e-9 * max(1.0, r.bubble),
        peak_activations=r.peak_activations,
        parameter_copies=copies,
        deadlocked=False,
        error=None,
    )


def compare(
    stages: int = 8,
    microbatches: int = 20,
    times: ChunkTimes | None = None,
    schedules: tuple[str, ...] = SCHEDULES,
) -> ScheduleComparison:
    """Every schedule at the same number of pipeline stages; V shapes and interleaving use half the devices.

    A schedule that cannot run this configuration gets a row with ``error`` set instead of numbers.
    """
    times = times or ChunkTimes()
    times.arrays()  # bad times fail the whole comparison, not each row
    if stages < 1:
        raise InputError(f"stages must be at least 1, got {stages}", field="ranks")
    rows: list[ScheduleRow] = []
    failures: list[InputError | None] = []
    for name in schedules:
        devices = devices_for_stages(name, stages)
        error: InputError | None = None
        try:
            if devices is None or devices < 1:
                raise InputError(
                    f"{name} runs 2 stages per device and needs an even stage count, got {stages}"
                )
            figures = msgspec.structs.asdict(summarize(name, devices, microbatches, times, chunks=2))
            row = ScheduleRow(
                schedule=name,
                stages=stages,
                devices=devices,
                ranks=devices,
                microbatches=microbatches,
                **figures,
            )
        except InputError as e:
            if e.field in _TIME_FIELDS:
                raise
            error = e
            row = ScheduleRow(
                schedule=name,
                stages=stages,
                devices=devices,
                **msgspec.structs.asdict(_no_figures(e.message)),
            )
        rows.append(row)
        failures.append(error)
    if all(e is not None for e in failures):  # nothing to compare: the configuration itself is bad
        raise next(e for e in failures if e is not None)
    return ScheduleComparison(stages=stages, microbatches=microbatches, schedules=rows)


SWEEP_FIELDS = (
    "schedule",
    "ranks",
    "microbatches",
    "f",
    "b",
    "w",
    "fb",
    "latency",
    "makespan",
    "bubble",
    "bubble_fraction",
    "formula_bubble",
    "formula_matches",
    "peak_activations",
    "parameter_copies",
    "deadlocked",
    "error",
)


MAX_SWEEP = 1_000_000
"""The most combinations one sweep may simulate (more are refused before any is)."""


def sweep_names(schedules: str) -> list[str]:
    """``'all'`` or comma-separated schedule names, as `flyer pipeline sweep --schedules` takes them."""
    return list(SCHEDULES) if schedules == "all" else [s.strip() for s in schedules.split(",") if s.strip()]


def sweep_size(schedules: list[str], **axes: list[Any] | None) -> int:
    """The combinations a sweep of these axes simulates; more than MAX_SWEEP is refused (exit 2)."""
    total = len(schedules)
    for v in axes.values():
        total *= len(v or [0])
    if total > MAX_SWEEP:
        raise InputError(
            f"{total} combinations; at most {MAX_SWEEP:,} per sweep",
            field="ranks",
            hint="narrow the ranges or split the sweep",
        )
    return total


def sweep(
    schedules: list[str],
    ranks: list[int],
    microbatches: list[int],
    f: list[float],
    b: list[float],
    w: list[float],
    fb: list[float] | None = None,
    latency: list[float] | None = None,
    *,
    progress: Any = None,
) -> list[SweepRow]:
    """Every combination, in a fixed order; a combination a schedule cannot run gets ``error`` set.

    ``fb`` defaults to F + B of each combination.
    """
    for name in schedules:
        if name not in SCHEDULES:  # unknown names fail the whole sweep, up front
            raise InputError(
                f"unknown schedule '{name}'; choose one of {', '.join(SCHEDULES)}", field="schedules"
            )
    rows = []
    fbs: list[float | None] = list(fb) if fb else [None]
    combos = itertools.product(schedules, ranks, microbatches, f, b, w, fbs, latency or [0.0])
    for name, p, n, fi, bi, wi, fbi, lat in combos:
        times = ChunkTimes(f=fi, b=bi, w=wi, fb=fbi, latency=lat)
        try:
            figures = summarize(name, p, n, times)
        except InputError as e:
            if e.field in _TIME_FIELDS:
                raise InputError(
                    f"{e.message} (in the combination {name} PP={p} N={n})", field=e.field
                ) from None
            figures = _no_figures(e.message)
        rows.append(
            SweepRow(
                schedule=name,
                ranks=p,
                microbatches=n,
                f=fi,
                b=bi,
                w=wi,
                fb=fi + bi if fbi is None else fbi,
                latency=lat,
                **msgspec.structs.asdict(figures),
            )
        )
        if progress is not None:
            progress()
    return rows


def sweep_csv(rows: list[SweepRow]) -> str:
    """The rows as CSV, one column per field of SweepRow (in SWEEP_FIELDS' order); None as empty."""
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(SWEEP_FIELDS)
    for r in rows:
        wr.writerow(["" if (v := getattr(r, k)) is None else v for k in SWEEP_FIELDS])
    return buf.getvalue()


def write_sweep(rows: list[SweepRow], path: str | os.PathLike) -> SweepWritten:
    """Write a sweep's rows to ``path`` atomically: CSV where it ends in ``.csv``, else JSON."""
    csv_out = os.fspath(path).lower().endswith(".csv")
    atomic_write(path, sweep_csv(rows) if csv_out else dumps_json(rows))
    return SweepWritten(configs=len(rows), errors=sum(r.error is not None for r in rows), out=os.fspath(path))
