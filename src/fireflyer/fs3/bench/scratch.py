"""The directory a benchmark writes in: checked before anything is written, removed afterwards, also when
the run is interrupted (Ctrl-C, SIGTERM, SIGHUP: Interrupted, exit 130, 143, 129) or fails."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ... import host
from ...errors import InputError

PREFIX = ".flyer-bench-"
"""Every scratch directory's name starts with this, so a leftover one (after a SIGKILL) is easy to find."""

PSEUDO_FILE_SYSTEMS = frozenset(
    "proc sysfs devtmpfs devpts cgroup cgroup2 debugfs tracefs securityfs pstore bpf configfs fusectl "
    "mqueue binfmt_misc efivarfs autofs".split()
)
"""Kernel interfaces, not storage: a benchmark there measures nothing (and root may write in some)."""

MARGIN_BYTES = 64 << 20
"""Free space kept on top of what a run needs (file-system metadata, logs)."""


def check_target(path: str | os.PathLike, *, need_bytes: int = 0, need_inodes: int = 0, what: str) -> Path:
    """The directory ``path`` resolved, once it is known to exist, be a directory, be writable, and have
    ``need_bytes`` (plus a margin) and ``need_inodes`` free; InputError naming the path otherwise."""
    if not os.fspath(path):
        raise InputError("PATH is empty", hint="give a directory on the file system to test")
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError("no such directory", file=str(p), hint="give a directory on the file system to test")
    if not p.is_dir():
        raise InputError("not a directory", file=str(p), hint="give a directory on the file system to test")
    kind = fs_type(p)
    if kind in PSEUDO_FILE_SYSTEMS:
        raise InputError(
            f"on {kind}, a kernel interface, not storage",
            file=str(p),
            hint="give a directory on the file system to test",
        )
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError("directory is not writable", file=str(p))
    host.check_disk(
        p, need_bytes + MARGIN_BYTES, what, inodes=need_inodes, field="size", hint="use a smaller size"
    )
    return p.resolve()


def fs_type(path: str | os.PathLike) -> str | None:
    """The type of the file system holding ``path`` (the deepest mount point above it in /proc/self/mounts),
    or None where it cannot be told."""
    target = os.path.realpath(path)
    best, kind = "", None
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            for line in f:
                bits = line.split()
                if len(bits) < 3:
                    continue
                mount = bits[1].replace("\\040", " ").replace("\\011", "\t")
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, kind = mount, bits[2]
    except OSError:
        return None
    return kind


HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals a run stops on, removing what it wrote: Ctrl-C, a service manager's stop, a closed terminal."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived (raised on the main thread, so ``finally`` clauses run); a command
    exits with ``exit_code``, 128 + the signal's number, as a shell reports a process the signal ended."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.name = signal.Signals(signum).name
        super().__init__(self.name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_received: list[int] = []
"""Every signal our handlers saw, in order (a library may turn an Interrupted into a plain
KeyboardInterrupt; ``as_interrupted`` still knows which signal it was)."""


def _raise(signum, frame):
    _received.append(signum)
    raise Interrupted(signum)


def as_interrupted(e: KeyboardInterrupt) -> Interrupted:
    """``e`` as an Interrupted: itself, or the first signal our handlers saw (SIGINT when none did)."""
    if isinstance(e, Interrupted):
        return e
    return Interrupted(_received[0] if _received else signal.SIGINT)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _handlers(handler) -> Iterator[None]:
    """``handler`` for each signal of HANDLED that is not ignored (a run under nohup, or started in the
    background, keeps ignoring what it was told to ignore); the previous ones back after the block."""
    previous = {}
    for s in HANDLED:
        current = signal.getsignal(s)
        if current is not signal.SIG_IGN:
            previous[s] = current
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Inside the block, SIGINT, SIGTERM and SIGHUP raise Interrupted (a KeyboardInterrupt), so ``finally``
    clauses run (a no-op off the main thread, where Python cannot install handlers)."""
    if not _main_thread():
        yield
        return
    with _handlers(_raise):
        yield


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Inside the block (a step that must not be cut in half: a cleanup, a library's start-up), SIGINT,
    SIGTERM and SIGHUP are noted, not acted on; the first is raised as Interrupted when the block ends,
    unless an exception already leaves it or the block runs while one is handled (a ``finally`` clause
    after an Interrupted: the first signal decides the exit code). Handlers a library installs inside the
    block are replaced by the ones from before it."""
    if not _main_thread():
        yield
        return
    noted: list[int] = []
    failed = sys.exc_info()[1] is not None

    def note(signum, frame):
        _received.append(signum)
        noted.append(signum)

    with _handlers(note):
        try:
            yield
        except BaseException:
            failed = True
            raise
    if noted and not failed:
        raise Interrupted(noted[0])


@contextlib.contextmanager
def scratch_dir(
    path: str | os.PathLike, *, need_bytes: int = 0, need_inodes: int = 0, what: str = "the benchmark"
) -> Iterator[Path]:
    """A new directory under ``path`` (checked with ``check_target``), removed with all it holds when the
    block ends, whether it returns, fails or is interrupted."""
    target = check_target(path, need_bytes=need_bytes, need_inodes=need_inodes, what=what)
    run_dir = None
    try:
        with signals_as_interrupts():
            with signals_deferred():  # the directory is made and recorded, or not made
                try:
                    run_dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{host.hostname()}-", dir=target))
                except OSError as e:
                    raise InputError(
                        f"cannot create a directory here: {e.strerror}", file=str(target)
                    ) from None
            yield run_dir
    finally:
        if run_dir is not None:
            # NOTE: a signal during the removal must not leave half the files behind.
            with signals_deferred():
                shutil.rmtree(run_dir, ignore_errors=True)
