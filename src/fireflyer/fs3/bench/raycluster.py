"""Ray for a run: a local head started for it (``localray``) or an existing cluster at ``--ray-address``,
probed before anything is written, connected with Ray's output in a log, and disconnected after. The sort
(Smallpond) and the fan-out of a benchmark to every client node (``clients``) both connect here.

Ray's C++ core in this process writes its error lines to file descriptor 2 (its other lines go to a log in
Ray's session), most of them as ``ray.shutdown`` winds it down: an interrupted sort printed
``task_manager.cc: Failed to push error to driver`` for the tasks it left pending. So the connection and
the whole teardown (Smallpond's shutdown, cancelled client jobs, the disconnection, the local head's end)
run with fd 2 appended to the run's Ray log (``RayCluster.quiet``), and so does the run itself when stderr
is not a terminal; on a terminal fd 2 stays the command's while the run goes on, for its progress bar."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ... import host
from ...errors import CheckFailed, InputError
from .localray import local_ray
from .scratch import Interrupted, signals_deferred

if TYPE_CHECKING:
    from .clients import BenchHosts

MAX_RAY_TIMEOUT = 3600.0
"""Seconds --ray-address may take to answer, at most (a larger figure is a typo, not a wait)."""
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_ray_timeout(timeout: float) -> None:
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_RAY_TIMEOUT):
        raise InputError(
            f"must be a number of seconds in (0, {MAX_RAY_TIMEOUT:g}], got {timeout}", field="ray_timeout"
        )


def ray_endpoint(address: str) -> tuple[str, int]:
    """The host and port of a Ray address (``HOST:PORT`` or ``ray://HOST:PORT``, the host bracketed if IPv6),
    checked in full; InputError otherwise."""
    m = re.fullmatch(r"(?:ray://)?(\[[^\]]+\]|[^:/\s\[\]]+):(\d{1,5})", address.strip())
    if not m or not 0 < int(m.group(2)) < 65536:
        raise InputError(f"expected HOST:PORT or ray://HOST:PORT, got {address!r}", field="ray_address")
    return m.group(1).strip("[]"), int(m.group(2))


def probe_ray(on: BenchHosts) -> None:
    """Refuse, with InputError, a Ray cluster (``on.address``) that does not answer as a gRPC server (Ray's
    GCS and client server both are) within ``on.timeout`` seconds; nothing to probe without an address."""
    if on.address is None:
        return
    address, timeout = on.address, on.timeout
    hostname, port = ray_endpoint(address)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((hostname, port), timeout=timeout) as s:
            s.settimeout(max(deadline - time.monotonic(), 1e-3))
            s.sendall(_HTTP2_PREFACE)
            # NOTE: any gRPC server answers the HTTP/2 preface with a SETTINGS frame (type 4) at once.
            head = b""
            while len(head) < 9:
                chunk = s.recv(9 - len(head))
                if not chunk:
                    raise ConnectionError("it closed the connection")
                head += chunk
        if head[3] != 4:
            raise ConnectionError("it does not speak gRPC")
    except TimeoutError:
        raise InputError(
            f"Ray at {address} did not answer within {timeout:g} s",
            field="ray_address",
            hint="check the address (ray status prints it) and the network",
        ) from None
    except OSError as e:
        raise InputError(
            f"cannot reach Ray at {address}: {e.strerror or e}",
            field="ray_address",
            hint="check the address (ray status prints it)",
        ) from None


@dataclass(frozen=True)
class RayCluster:
    address: str
    nodes: int
    cpus: int
    log: Path
    """Where Ray's output goes (``quiet``)."""

    def quiet(self) -> contextlib.AbstractContextManager[None]:
        """Inside the block, what this process writes to fd 2 (Ray's C++ core included) goes to ``log``:
        around whatever winds Ray's work down inside the session (cancelling tasks, shutting Smallpond down).
        Leave it before the session ends (fd 2 is restored in the order it was redirected)."""
        return redirected(2, self.log)


@contextlib.contextmanager
def ray_session(ray, on: BenchHosts, logs: Path) -> Iterator[RayCluster]:
    """A connection to a Ray head started for the run (``local_ray``: a process of its own, stopped after)
    without ``on.address``, else to the cluster there (probed first); disconnected after. What Ray prints
    goes to ``logs`` / ray.log."""
    if ray.is_initialized():
        raise InputError("Ray is already initialized in this process; call ray.shutdown() first")
    log = logs / "ray.log"
    stack, running = contextlib.ExitStack(), contextlib.ExitStack()
    try:
        if on.address is None:
            head = stack.enter_context(local_ray(host.threads_available(), log))
            stack.enter_context(_auth(head.env))
            target = head.address
        else:
            probe_ray(on)
            target = on.address
        stack.enter_context(_disconnected_after(ray))  # before the head stops (last in, first out)
        _connect(ray, target, log, local=on.address is None)
        if not os.isatty(2):  # NOTE: no progress bar to draw there: Ray's errors go to the log all along
            running.enter_context(redirected(2, log))
        alive = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
        cpus = int(sum(n["Resources"]["CPU"] for n in alive))
        yield RayCluster(ray.get_runtime_context().gcs_address, max(len(alive), 1), max(cpus, 1), log)
    finally:
        running.close()  # first: fd 2 is restored in the order it was redirected
        with signals_deferred(), redirected(2, log):  # NOTE: Ray's core logs to fd 2 as it winds down
            stack.close()


def _connect(ray, address: str, log: Path, *, local: bool) -> None:
    try:
        # NOTE: ray.init sets its own SIGTERM handler (sys.exit); ours are back once it returns.
        with signals_deferred(), redirected(2, log):
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except SystemExit as e:
        if e.code == signal.SIGTERM:  # Ray's handler ran before ours came back
            raise Interrupted(signal.SIGTERM) from None
        raise
    except Exception as e:
        said = log.read_text(errors="replace") if log.exists() else ""
        if local:
            raise CheckFailed(f"cannot connect to the local Ray: {last_line(e)}") from None
        if "InvalidAuthToken" in said or "Unauthenticated" in said:
            raise InputError(
                f"Ray at {address} wants an authentication token",
                field="ray_address",
                hint="set RAY_AUTH_MODE=token, and RAY_AUTH_TOKEN or ~/.ray/auth_token as the "
                "cluster has them",
            ) from None
        raise InputError(f"cannot connect to Ray at {address}: {last_line(e)}", field="ray_address") from None


@contextlib.contextmanager
def _disconnected_after(ray) -> Iterator[None]:
    try:
        yield
    finally:
        with signals_deferred():
            if ray.is_initialized():
                ray.shutdown()


@contextlib.contextmanager
def _auth(values: dict[str, str]) -> Iterator[None]:
    """The head's token (``values``: RAY_AUTH_MODE, RAY_AUTH_TOKEN) in os.environ inside the block, the
    previous settings back after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    _reload_auth()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reload_auth()


def _reload_auth() -> None:
    # NOTE: Ray reads RAY_AUTH_MODE and the token once, when imported; this is how its own
    # authentication set-up makes a running process read them again.
    with contextlib.suppress(ImportError, AttributeError):
        from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


@contextlib.contextmanager
def redirected(fd: int, log: Path) -> Iterator[None]:
    """File descriptor ``fd`` (1: stdout, 2: stderr) appended to ``log`` inside the block: what Ray and
    Smallpond print there stays out of the command's output."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    saved = os.dup(fd)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), fd)
    try:
        yield
    finally:
        stream.flush()
        os.dup2(saved, fd)
        os.close(saved)


def last_line(e: BaseException) -> str:
    """The last non-empty line of an exception's message (Ray's and Smallpond's run to pages)."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(e).__name__
