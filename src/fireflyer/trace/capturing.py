"""Capture PyTorch-profiler traces of any job, on every rank, without changing its code.

``run(command, settings)`` starts the job with ``bootstrap/`` first on ``PYTHONPATH``: Python imports its
``sitecustomize`` at start-up in every process of the job, torchrun's workers included; it watches for
``import torch`` and then calls ``install_from_environ``, which registers a global optimizer step hook
(``torch.optim.optimizer.register_optimizer_step_post_hook``): the first optimizer step of a process starts
its profiler, each later one advances it a step. Processes that never step an optimizer (the torchrun agent,
data loader workers, helper scripts) never profile. The settings travel in ``FLYER_TRACE_*`` variables.

Code without an optimizer calls ``step()`` once per iteration (under ``flyer trace capture``), or wraps its
loop in ``capture(...)``; once ``step()`` is called, the optimizer no longer advances the profiler.

Each rank writes ``rank{R}.json`` (``cycle{C}/rank{R}.json`` when the schedule repeats) with its rank in the
file's ``distributedInfo``, and with ``host_metrics_hz`` counter tracks of this host's CPU, memory, network
and disk inside the traced span.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import trace_events
from ..errors import InputError
from ..io import atomic_path
from .analysis import scan
from .host_metrics import Sampler

BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"
"""The directory put first on the job's PYTHONPATH: it holds only ``sitecustomize.py``."""

ENV_DIR = "FLYER_TRACE_DIR"
ENV_SCHEDULE = "FLYER_TRACE_SCHEDULE"
ENV_HOST_METRICS = "FLYER_TRACE_HOST_METRICS"
ENV_RECORD_SHAPES = "FLYER_TRACE_RECORD_SHAPES"
ENV_WITH_STACK = "FLYER_TRACE_WITH_STACK"
ENV_PATH = "FLYER_TRACE_PATH"
"""Where fireflyer is installed, for a job whose Python does not find it on its own path."""


@dataclass(frozen=True, kw_only=True)
class ProfilerSchedule:
    """The profiler's schedule, in optimizer steps (or ``step()`` calls) after the first."""

    wait: int = 1
    """Steps skipped before each cycle."""
    warmup: int = 1
    """Steps traced and dropped (the profiler's own start-up cost)."""
    active: int = 3
    """Steps recorded in each cycle."""
    repeat: int = 1
    """Cycles; each writes its own trace per rank."""

    def __post_init__(self) -> None:
        for name, low in (("wait", 0), ("warmup", 0), ("active", 1), ("repeat", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or v < low:
                raise InputError(f"must be a whole number >= {low}, got {v!r}", field=name)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What a capture records, and where."""

    out: Path
    """Directory the traces go to."""
    schedule: ProfilerSchedule = field(default_factory=ProfilerSchedule)
    host_metrics_hz: float = 0.0
    """Host metrics sampling rate; 0: none."""
    record_shapes: bool = False
    with_stack: bool = False

    def __post_init__(self) -> None:
        if not (self.host_metrics_hz == 0 or 0 < self.host_metrics_hz <= 1000):
            raise InputError(
                f"must be 0 (off) or in (0, 1000], got {self.host_metrics_hz}", field="host_metrics_hz"
            )

    def environ(self) -> dict[str, str]:
        s = self.schedule
        return {
            ENV_DIR: str(self.out.resolve()),
            ENV_SCHEDULE: f"{s.wait},{s.warmup},{s.active},{s.repeat}",
            ENV_HOST_METRICS: f"{self.host_metrics_hz:g}",
            ENV_RECORD_SHAPES: "1" if self.record_shapes else "0",
            ENV_WITH_STACK: "1" if self.with_stack else "0",
        }

    @classmethod
    def from_environ(cls, env: dict[str, str] | os._Environ) -> Settings | None:
        out = env.get(ENV_DIR)
        if not out:
            return None
        try:
            wait, warmup, active, repeat = (int(x) for x in env.get(ENV_SCHEDULE, "1,1,3,1").split(","))
            hz = float(env.get(ENV_HOST_METRICS, "0"))
        except ValueError:
            raise InputError(
                f"expected wait,warmup,active,repeat, got {env.get(ENV_SCHEDULE)!r}", field=ENV_SCHEDULE
            ) from None
        return cls(
            out=Path(out),
            schedule=ProfilerSchedule(wait=wait, warmup=warmup, active=active, repeat=repeat),
            host_metrics_hz=hz,
            record_shapes=env.get(ENV_RECORD_SHAPES) == "1",
            with_stack=env.get(ENV_WITH_STACK) == "1",
        )


def _rank_and_world() -> tuple[int, int, bool]:
    """(rank, world size, whether torch.distributed says so)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), True
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")), False


def _warn(message: str) -> None:
    print(f"flyer trace: {message}", file=sys.stderr, flush=True)


class Session:
    """One process's profiler: started by ``start()``, advanced by ``step()``, each cycle written when it
    ends, the last (possibly partial) one by ``stop()``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.files: list[Path] = []
        self.cycle = 0
        self.done = False
        self.explicit = False  # step() was called: optimizer steps no longer count
        self.optimizer: int | None = None  # id of the optimizer whose steps count
        self._profiler: Any = None
        self._sampler: Any = None
        self._tagged = False

    def start(self) -> None:
        import torch
        from torch.profiler import ProfilerActivity, profile, schedule

        s = self.settings.schedule
        activities = [ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(ProfilerActivity.CUDA)
        with _quiet():
            self._profiler = profile(
                activities=activities,
                schedule=schedule(wait=s.wait, warmup=s.warmup, active=s.active, repeat=s.repeat),
                on_trace_ready=self._ready,
                record_shapes=self.settings.record_shapes,
                with_stack=self.settings.with_stack,
            )
            self._profiler.start()
        if self.settings.host_metrics_hz > 0:
            self._sampler = Sampler(self.settings.host_metrics_hz)
            self._sampler.start()
        self._tag()

    def step(self) -> None:
        if self.done or self._profiler is None:
            return
        with _quiet():
            self._profiler.step()
        if self._sampler is not None and self._tagged:
            self._sampler.sample()  # NOTE: a sample at each recorded step: short steps fall between ticks
        self._tag()
        if self.cycle >= self.settings.schedule.repeat:
            self.stop()

    def stop(self) -> None:
        if self.done or self._profiler is None:
            return
        self.done = True
        try:
            with _quiet():
                self._profiler.stop()
        finally:
            if self._sampler is not None:
                self._sampler.stop()

    def _tag(self) -> None:
        """Metadata for the cycle being recorded (Kineto takes it only while it records)."""
        from torch.profiler import ProfilerAction

        recording = self._profiler.current_action != ProfilerAction.NONE
        if recording and not self._tagged:
            rank, world, from_dist = _rank_and_world()
            if not from_dist:  # torch writes distributedInfo itself when a process group is up
                self._profiler.add_metadata_json(
                    "distributedInfo", json.dumps({"rank": rank, "world_size": world})
                )
            s = self.settings.schedule
            self._profiler.add_metadata_json(
                "fireflyer",
                json.dumps(
                    {"schedule": {"wait": s.wait, "warmup": s.warmup, "active": s.active, "repeat": s.repeat}}
                ),
            )
        self._tagged = recording

    def _path(self, rank: int) -> Path:
        d = (
            self.settings.out
            if self.settings.schedule.repeat == 1
            else self.settings.out / f"cycle{self.cycle}"
        )
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"rank{rank}.json"
        if path.exists():  # another process claimed this rank (two trainings without RANK): keep both
            path = d / f"rank{rank}.pid{os.getpid()}.json"
        return path

    def _ready(self, profiler: Any) -> None:
        self.cycle += 1
        rank, _, _ = _rank_and_world()
        path = self._path(rank)
        with atomic_path(path) as tmp:
            profiler.export_chrome_trace(str(tmp))
            if self._sampler is not None:
                self._add_host_metrics(tmp)
        self.files.append(path)
        self._tagged = False  # the next cycle's trace needs its own metadata

    def _add_host_metrics(self, path: Path) -> None:
        # NOTE: one thread: this runs inside every rank of the job, whose cores are the job's
        [f] = scan([path], top=1, threads=1)
        base = f.header.base_time_ns
        start_ns = base + round((f.origin_us + f.start_us) * 1000)
        end_ns = base + round((f.origin_us + f.end_us) * 1000)
        events = self._sampler.counters(start_ns, end_ns, pid=os.getpid(), base_ns=base)
        trace_events.append(path, events, header=f.header)  # the scan read the file whole


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The profiler's advice (acc_events for repeated cycles, ...) is not for the job's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ---- The process-wide session ----------------------------------------------------------------------------

_session: Session | None = None
_pending: Settings | None = None  # from the environment: starts at the first optimizer step or step()
_hooked = False


def _guarded(fn):
    """Hooks run inside the user's job: a failure of ours is reported once, capture stops, the job goes on."""

    def wrapper(*args, **kwargs):
        global _session, _pending
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - whatever breaks, the job must not
            _warn(f"capture stopped in process {os.getpid()}: {type(e).__name__}: {e}")
            _session, _pending = None, None

    return wrapper


def _begin(settings: Settings) -> Session:
    global _session
    _session = Session(settings)
    _session.start()
    atexit.register(_guarded(_session.stop))
    return _session


@_guarded
def _after_optimizer_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    global _pending
    s = _session
    if s is None:
        if _pending is None:
            return
        settings, _pending = _pending, None
        _begin(settings).optimizer = id(optimizer)  # its first step ran before the profiler: step 0
        return
    if s.explicit:
        return
    if s.optimizer is None:
        s.optimizer = id(optimizer)
    if id(optimizer) == s.optimizer:  # several optimizers: the first one's steps count
        s.step()


def _hook_optimizers() -> None:
    global _hooked
    if _hooked:
        return
    from torch.optim.optimizer import register_optimizer_step_post_hook

    register_optimizer_step_post_hook(_after_optimizer_step)
    _hooked = True


def step() -> None:
    """Advance the profiler one step (call it once per iteration in code without an optimizer).

    Under ``flyer trace capture`` the first call starts the profiler. Once called, optimizer steps no longer
    advance it. Without a capture in progress it does nothing.
    """
    global _pending
    s = _session
    if s is None:
        if _pending is None:
            _pending = Settings.from_environ(os.environ)  # torch may not be imported: no hook armed yet
        if _pending is None:
            return
        settings, _pending = _pending, None
        _guarded(_begin)(settings)
        if _session is not None:
            _session.explicit = True
        return
    s.explicit = True
    _guarded(s.step)()


@contextlib.contextmanager
def capture(
    out: str | os.PathLike = "flyer-trace",
    *,
    wait: int = 1,
    warmup: int = 1,
    active: int = 3,
    repeat: int = 1,
    host_metrics_hz: float = 0.0,
    record_shapes: bool = False,
    with_stack: bool = False,
) -> Iterator[Session]:
    """Profile the block: the profiler starts now and advances at each optimizer step, or at each ``step()``
    once that is called; traces go to ``out`` (``rank{R}.json``).

    Example::

        with fireflyer.trace.capture("traces", active=3):
            for batch in loader:
                serve(batch)
                fireflyer.trace.step()
    """
    global _session
    if _session is not None and not _session.done:
        raise InputError("a capture is already running in this process")
    settings = Settings(
        out=Path(out),
        schedule=ProfilerSchedule(wait=wait, warmup=warmup, active=active, repeat=repeat),
        host_metrics_hz=host_metrics_hz,
        record_shapes=record_shapes,
        with_stack=with_stack,
    )
    settings.out.mkdir(parents=True, exist_ok=True)
    _hook_optimizers()
    session = Session(settings)
    _session = session
    session.start()
    try:
        yield session
    finally:
        session.stop()
        _session = None


def install_from_environ() -> None:
    """Called in every process of a captured job once it has imported torch (``bootstrap/sitecustomize.py``
    sees to that): when ``FLYER_TRACE_DIR`` is set, optimizer steps start and advance the profiler."""
    global _pending
    settings = Settings.from_environ(os.environ)
    if settings is None or _session is not None:
        return
    _pending = settings
    _hook_optimizers()
