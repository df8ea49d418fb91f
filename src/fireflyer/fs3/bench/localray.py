"""A Ray head for one run on this host: ``ray start --head --block`` as a process of its own, in a session of
its own, with a temporary directory and an authentication token made here (anyone who reaches its ports
needs the token, as Ray's token authentication asks; none is written to ~/.ray), stopped
with every process of its session, and its directory removed, when the block ends.

Ray's processes never share the command's process group, so a terminal's Ctrl-C or a service manager's
SIGTERM reaches the command alone: its handlers stop Ray and remove the files (Ray's own handlers, set in
a process that starts a cluster with ``ray.init``, would end the command before its cleanup runs).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...errors import CheckFailed
from .scratch import signals_deferred

START_TIMEOUT = 120.0
"""Seconds a local head may take to start (a few on an idle machine)."""
STOP_TIMEOUT = 10.0
STARTED = b"Ray runtime started"
"""What ``ray start`` prints once its processes are up."""


@dataclass(frozen=True)
class LocalRay:
    address: str
    """The head's GCS, 127.0.0.1:PORT (Ray connects to it on this host's address)."""
    temp_dir: Path
    """Ray's temporary directory (sessions, sockets, logs, spilled objects), made for this run."""
    pid: int
    """The ``ray start`` process, leader of the session every process of this cluster runs in."""
    env: dict[str, str]
    """What a driver needs to connect (the token the head was started with)."""


@contextlib.contextmanager
def local_ray(cpus: int, log: Path, *, timeout: float = START_TIMEOUT) -> Iterator[LocalRay]:
    """A Ray head with ``cpus`` CPUs, its output appended to ``log``; stopped, with everything it started,
    and its temporary directory removed when the block ends (also on an exception or a signal)."""
    temp = head = None
    try:
        with signals_deferred():  # made and recorded, or not made
            # NOTE: a short path: Ray's Unix sockets live under it (at most 107 bytes).
            temp = Path(tempfile.mkdtemp(prefix="flyer-ray-"))
        auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        port = _free_port()
        argv = [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--num-cpus={cpus}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ]
        with signals_deferred(), open(log, "ab") as fh:
            head = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=fh,
                env={**os.environ, **auth},
                start_new_session=True,
            )
        _wait_started(head, log, timeout)
        yield LocalRay(f"127.0.0.1:{port}", temp, head.pid, auth)
    finally:
        with signals_deferred():
            if head is not None:
                stop(head, temp)
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_started(head: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        said = log.read_bytes()
        if STARTED in said:
            return
        if head.poll() is not None:
            raise CheckFailed(f"the local Ray did not start (exit {head.returncode}): {_last_line(said)}")
        if time.monotonic() > deadline:
            raise CheckFailed(f"the local Ray did not start within {timeout:g} s: {_last_line(said)}")
        time.sleep(0.05)


def _last_line(said: bytes) -> str:
    lines = [ln.strip() for ln in said.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "it printed nothing"


def processes_of(session: int, temp: Path | None = None) -> list[int]:
    """Live processes (zombies left out) of ``session``, or whose command line names ``temp``."""
    mark = os.fsencode(temp) if temp is not None else None
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rindex(b")") + 2 :].split()  # state ppid pgrp session ...
            if fields[0] in (b"Z", b"X"):
                continue
            ours = int(fields[3]) == session
            if not ours and mark is not None:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    ours = mark in f.read()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ours and int(entry.name) != os.getpid():
            out.append(int(entry.name))
    return out


def stop(head: subprocess.Popen, temp: Path | None, timeout: float = STOP_TIMEOUT) -> None:
    """Kill every process of the head's session (and any naming ``temp``), then reap the head. The head is
    reaped last, so its pid, the session's id, cannot be reused meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        left = processes_of(head.pid, temp)
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    with contextlib.suppress(subprocess.TimeoutExpired):
        head.wait(timeout=max(deadline - time.monotonic(), 0.1))
