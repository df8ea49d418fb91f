"""The one timing protocol: every figure fireflyer prints is measured here.

Warm-up calls first (a fixed number, and for work whose speed settles slowly, a minimum time), then a
fixed number of timed samples; the result is the median with the 20th and 80th percentiles (and the best,
for peak-style figures). On CPU the thread count torch uses is fixed for
the measurement and reported; on CUDA each sample is timed with CUDA events, after the L2 cache is
flushed by writing a buffer larger than any L2. ``profiles detect``, ``pipeline measure``, the kernel
harness, the benchmarks and the tests all time code through ``time_fn`` or a ``Recorder``.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import FireflyerError, InputError
from .units import MiB

WARMUP = 3
SAMPLES = 30
FLUSH_BYTES = 256 * MiB
"""Bytes written to flush caches between samples: larger than the L2 of any GPU and the LLC of most CPUs."""


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    xs = sorted(samples)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Timing:
    """Seconds per call of ``len(samples)`` timed calls, and how they were taken."""

    samples: tuple[float, ...]
    warmup: int = 0
    device: str = "cpu"
    threads: int | None = None
    """CPU threads torch was fixed to during the measurement (None: not fixed, e.g. a compiled probe)."""
    flushed: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p20(self) -> float:
        return percentile(self.samples, 20)

    @property
    def p80(self) -> float:
        return percentile(self.samples, 80)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def spread(self) -> float:
        """(p80 - p20) / median: the relative width of the middle 60% of samples."""
        m = self.median
        return (self.p80 - self.p20) / m if m > 0 else 0.0

    def as_dict(self, unit: str = "s") -> dict[str, Any]:
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
        return {
            f"median_{unit}": self.median * scale,
            f"p20_{unit}": self.p20 * scale,
            f"p80_{unit}": self.p80 * scale,
            f"best_{unit}": self.best * scale,
            "samples": len(self.samples),
            "warmup": self.warmup,
            "device": self.device,
            "threads": self.threads,
            "l2_flushed": self.flushed,
        }


def _torch() -> Any:
    """torch if this process already uses it (the protocol never imports it for CPU-only work)."""
    return sys.modules.get("torch")


@contextlib.contextmanager
def fixed_threads(threads: int | None) -> Iterator[int | None]:
    """Fix torch's intra-op CPU threads for the block (when torch is in use) and yield the count in force."""
    torch = _torch()
    if torch is None:
        yield threads
        return
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


class _Flusher:
    """Writes FLUSH_BYTES between samples so no sample starts with warm caches."""

    def __init__(self, device: str):
        self.device = device
        if device.startswith("cuda"):
            torch = _torch()
            self.buf = torch.empty(FLUSH_BYTES // 4, dtype=torch.int32, device=device)
        else:
            self.buf = (ctypes.c_char * FLUSH_BYTES)()
            self.value = 0

    def __call__(self) -> None:
        if self.device.startswith("cuda"):
            self.buf.zero_()
        else:
            self.value ^= 1
            ctypes.memset(self.buf, self.value, FLUSH_BYTES)


class Recorder:
    """Times named sections, sample by sample, on one device; ``timings()`` gives a Timing per name.

    For work whose parts depend on each other (a backward needs its forward), so they cannot be timed
    by separate ``time_fn`` calls::

        rec = Recorder("cpu", threads=2)
        with rec.fixed():
            for _ in rec.steps(SAMPLES):
                with rec.section("f"):
                    y = f(x)

    ``steps`` runs ``warmup`` untimed steps, more while fewer than ``warmup_seconds`` have passed, then the
    timed ones, more than asked while fewer than ``sample_seconds`` have passed; a caller that drives its
    own loop sets ``keep`` itself.
    """

    def __init__(
        self,
        device: str = "cpu",
        *,
        threads: int | None = None,
        flush: bool = False,
        warmup: int = WARMUP,
        warmup_seconds: float = 0.0,
        sample_seconds: float = 0.0,
    ):
        if threads is not None and threads < 1:
            raise InputError(f"threads must be at least 1, got {threads}", field="threads")
        self.device = device
        self.cuda = device.startswith("cuda")
        self.threads = threads
        self.warmup = warmup
        self.warmup_seconds = warmup_seconds
        self.sample_seconds = sample_seconds
        self.samples = 0
        """Timed steps run so far by ``steps``."""
        self.done = 0.0
        """Share of ``steps``' timed phase done, 0 to 1: the lesser of the shares of steps and of time."""
        self.keep = True
        self._flush = _Flusher(device) if flush else None
        self._samples: dict[str, list[float]] = {}
        self._threads_used: int | None = threads
        self._pending: list[tuple[str, Any, Any]] = []

    @contextlib.contextmanager
    def fixed(self) -> Iterator[None]:
        """Hold the thread count fixed while sections run."""
        with fixed_threads(None if self.cuda else self.threads) as used:
            self._threads_used = None if self.cuda else used
            yield

    def steps(self, samples: int, progress: Callable[[float], object] | None = None) -> Iterator[int]:
        """Step indexes: the warm-up (at least ``warmup`` steps and ``warmup_seconds`` of wall time), then
        the timed steps (at least ``samples`` and ``sample_seconds`` of wall time). ``keep`` is set
        accordingly; ``warmup`` and ``samples`` end as the counts actually run. After each timed step
        ``progress(share)`` gets the share of the timed phase it completed; the shares add up to 1."""
        start = time.perf_counter()
        i = 0
        self.keep = False
        while i < self.warmup or time.perf_counter() - start < self.warmup_seconds:
            yield i
            i += 1
        self.warmup = i
        self.keep = True
        self.samples = 0
        self.done = 0.0 if samples > 0 or self.sample_seconds > 0 else 1.0
        start = time.perf_counter()
        while self.done < 1.0:
            yield i + self.samples
            self.samples += 1
            by_count = self.samples / samples if samples > 0 else 1.0
            elapsed = time.perf_counter() - start
            by_time = elapsed / self.sample_seconds if self.sample_seconds > 0 else 1.0
            before, self.done = self.done, min(1.0, by_count, by_time)
            if progress is not None:
                progress(self.done - before)

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        if self._flush is not None:
            self._flush()
        if self.cuda:
            torch = _torch()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            if self.keep:
                self._pending.append((name, start, end))
            return
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        if self.keep:
            self._samples.setdefault(name, []).append(dt)

    def _drain(self) -> None:
        if self._pending:
            _torch().cuda.synchronize()
            for name, start, end in self._pending:
                self._samples.setdefault(name, []).append(start.elapsed_time(end) / 1e3)
            self._pending.clear()

    def timings(self) -> dict[str, Timing]:
        self._drain()
        return {
            k: Timing(
                tuple(v),
                warmup=self.warmup,
                device=self.device,
                threads=self._threads_used,
                flushed=self._flush is not None,
            )
            for k, v in self._samples.items()
        }


def time_fn(
    fn: Callable[[], object],
    *,
    warmup: int = WARMUP,
    samples: int = SAMPLES,
    device: str = "cpu",
    threads: int | None = None,
    flush: bool | None = None,
    warmup_seconds: float = 0.0,
    sample_seconds: float = 0.0,
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls (more until ``warmup_seconds`` have passed), then ``samples``
    timed ones (more until ``sample_seconds`` have passed).

    ``flush`` (default: on for CUDA) writes FLUSH_BYTES before each sample; on CUDA each sample is timed
    by CUDA events around the call; on CPU torch's thread count is fixed to ``threads`` (default: as is).
    """
    if samples < 1 or warmup < 0:
        raise InputError(
            f"samples must be >= 1 and warmup >= 0, got samples={samples}, warmup={warmup}", field="samples"
        )
    rec = Recorder(
        device,
        threads=threads,
        flush=device.startswith("cuda") if flush is None else flush,
        warmup=warmup,
        warmup_seconds=warmup_seconds,
        sample_seconds=sample_seconds,
    )
    if rec.cuda:
        _torch().cuda.synchronize()
    with rec.fixed():
        for _ in rec.steps(samples):
            with rec.section("fn"):
                fn()
    return rec.timings()["fn"]


STEADY_HEAP = (
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=2147483647"
)
"""glibc tunables of a fresh measuring process: allocations come from the heap, which is kept (never trimmed
back to the kernel) and backed by transparent huge pages, so steady-state steps take no page faults. With
glibc's defaults a step of the pipeline block took 400-2,000 of them, a number that varied from process to
process. torch's own CPU launcher (``torch.backends.xeon.run_cpu``) swaps in tcmalloc or jemalloc by
default for the same reason: better memory reuse and fewer page faults."""


def _fresh_process_main(conn: Any, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    try:
        conn.send(("result", fn(**kwargs, progress=lambda share: conn.send(("progress", share)))))
    except FireflyerError as e:  # NOTE: pickles whole (message, file, field, hint); raised again there
        conn.send(("raise", e))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it there
        import traceback

        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def in_fresh_process(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    progress: Callable[[float], object] | None = None,
) -> Any:
    """``fn(**kwargs, progress=...)`` in a fresh Python process with the STEADY_HEAP allocator (on glibc);
    returns its result. ``fn`` must be importable (top level) and its result picklable; ``progress`` gets
    what the child's progress callback is given. The library's own errors (InputError, CheckFailed...) in
    the child are raised here as they were; any other failure as a RuntimeError with the child's traceback."""
    import multiprocessing
    import platform

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_fresh_process_main, args=(theirs, fn, kwargs), daemon=True)
    before = os.environ.get("GLIBC_TUNABLES")
    if platform.libc_ver()[0] == "glibc":
        # NOTE: the user's own tunables come last, so they win over ours.
        os.environ["GLIBC_TUNABLES"] = STEADY_HEAP + (f":{before}" if before else "")
    try:
        child.start()
    finally:
        if before is None:
            os.environ.pop("GLIBC_TUNABLES", None)
        else:
            os.environ["GLIBC_TUNABLES"] = before
    theirs.close()
    try:
        while True:
            try:
                kind, value = ours.recv()
            except EOFError:
                child.join()
                raise RuntimeError(
                    f"the measuring process ended without a result (exit code {child.exitcode})"
                ) from None
            if kind == "progress":
                if progress is not None:
                    progress(value)
            elif kind == "result":
                return value
            elif kind == "raise":
                raise value
            else:
                raise RuntimeError(f"the measuring process failed: {value}")
    finally:
        ours.close()
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
