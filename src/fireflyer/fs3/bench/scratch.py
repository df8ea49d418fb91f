"""The directory a benchmark writes in: checked before anything is written, removed afterwards, also when
the run is interrupted (Ctrl-C, SIGTERM, SIGHUP) or fails."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ... import host
from ...errors import InputError

PREFIX = ".flyer-bench-"
"""Every scratch directory's name starts with this, so a leftover one (after a SIGKILL) is easy to find."""

MARGIN_BYTES = 64 << 20
"""Free space kept on top of what a run needs (file-system metadata, logs)."""


def check_target(path: str | os.PathLike, *, need_bytes: int = 0, need_inodes: int = 0, what: str) -> Path:
    """The directory ``path`` resolved, once it is known to exist, be a directory, be writable, and have
    ``need_bytes`` (plus a margin) and ``need_inodes`` free; InputError naming the path otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError("no such directory", file=str(p), hint="give a directory on the file system to test")
    if not p.is_dir():
        raise InputError("not a directory", file=str(p), hint="give a directory on the file system to test")
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError("directory is not writable", file=str(p))
    host.check_disk(
        p, need_bytes + MARGIN_BYTES, what, inodes=need_inodes, field="size", hint="use a smaller size"
    )
    return p.resolve()


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Inside the block, SIGTERM and SIGHUP raise KeyboardInterrupt as Ctrl-C does, so ``finally`` clauses
    run (a no-op off the main thread, where Python cannot install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def scratch_dir(
    path: str | os.PathLike, *, need_bytes: int = 0, need_inodes: int = 0, what: str = "the benchmark"
) -> Iterator[Path]:
    """A new directory under ``path`` (checked with ``check_target``), removed with all it holds when the
    block ends, whether it returns, fails or is interrupted."""
    target = check_target(path, need_bytes=need_bytes, need_inodes=need_inodes, what=what)
    try:
        run_dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{host.hostname()}-", dir=target))
    except OSError as e:
        raise InputError(f"cannot create a directory here: {e.strerror}", file=str(target)) from None
    try:
        with signals_as_interrupts():
            yield run_dir
    finally:
        # NOTE: a second Ctrl-C during the removal must not leave half the files behind.
        with _signals_ignored():
            shutil.rmtree(run_dir, ignore_errors=True)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in sigs}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
