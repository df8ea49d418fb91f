"""Host metrics beside a trace: a psutil sampler thread (CPU %, resident memory, network and disk bytes per
second), turned into counter tracks on the trace's clock."""

from __future__ import annotations

import collections
import os
import threading
import time

import psutil

from ..trace_events import TraceEvent, counter

MAX_SAMPLES = 200_000
"""Samples kept (the oldest go first): 5.5 hours at 10 Hz."""


class Sampler:
    """Samples this process and host ``hz`` times a second on a daemon thread, from ``start()`` to
    ``stop()``. Each sample: (wall-clock ns, process CPU %, host CPU %, RSS bytes, network bytes sent and
    received, disk bytes read and written)."""

    def __init__(self, hz: float = 10.0):
        if not hz > 0:
            raise ValueError(f"hz must be > 0, got {hz}")
        self.period = 1.0 / hz
        self.samples: collections.deque[tuple] = collections.deque(maxlen=MAX_SAMPLES)
        self._process = psutil.Process(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flyer-host-metrics", daemon=True)

    def start(self) -> None:
        self._process.cpu_percent(None)  # NOTE: the first call only sets the baseline
        psutil.cpu_percent(None)
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.period + 1)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.sample()
            except (psutil.Error, OSError):  # a vanished counter must not stop the job
                pass

    def sample(self) -> None:
        net = psutil.net_io_counters()
        disk = psutil.disk_io_counters()
        self.samples.append(
            (
                time.time_ns(),
                self._process.cpu_percent(None),
                psutil.cpu_percent(None),
                self._process.memory_info().rss,
                net.bytes_sent if net else 0,
                net.bytes_recv if net else 0,
                disk.read_bytes if disk else 0,
                disk.write_bytes if disk else 0,
            )
        )

    def counters(self, start_ns: int, end_ns: int, *, pid: int | str, base_ns: int = 0) -> list[TraceEvent]:
        """Counter events for the samples within [start_ns, end_ns] (wall clock), at ``ts`` microseconds
        after ``base_ns`` (the trace's baseTimeNanoseconds; 0 for absolute timestamps)."""
        samples = list(self.samples)
        out: list[TraceEvent] = []
        for prev, cur in zip(samples, samples[1:]):
            t = cur[0]
            if not start_ns <= t <= end_ns:
                continue
            dt = (t - prev[0]) / 1e9
            if dt <= 0:
                continue
            ts = (t - base_ns) / 1000

            def rate(i: int, cur=cur, prev=prev, dt=dt) -> float:
                return round(max(0, cur[i] - prev[i]) / dt / 1e6, 3)

            out += [
                counter("host CPU %", ts, {"process": cur[1], "system": cur[2]}, pid=pid),
                counter("host memory (MiB)", ts, {"rss": round(cur[3] / 2**20, 1)}, pid=pid),
                counter("host network (MB/s)", ts, {"sent": rate(4), "received": rate(5)}, pid=pid),
                counter("host disk (MB/s)", ts, {"read": rate(6), "written": rate(7)}, pid=pid),
            ]
        return out
