"""``flyer eplb rebalance`` for cron: a lock, a migration-aware plan, and an atomic replace only when
the balance gain is worth it. A failed or killed run leaves the current plan as it was."""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import Busy, InputError, about_file
from .io import read_loads, read_plan, write_plan
from .metrics import copies, evaluate
from .solver import plan as make_plan


@dataclass
class Outcome:
    replaced: bool
    reason: str
    before: float
    after: float
    gain: float
    copies: int
    bytes: int
    plan: str

    def line(self) -> str:
        verb = "replaced" if self.replaced else "kept"
        return (
            f"{verb} {self.plan}: max/mean {self.before:.4f} -> {self.after:.4f} "
            f"(gain {self.gain * 100:.2f}%), {self.copies} expert copies ({self.bytes / 2**30:.2f} GiB); "
            f"{self.reason}"
        )


def lock_path(current: Path) -> Path:
    """The lock file beside the plan's real file (a symbolic link's target, so every link shares one lock)."""
    real = Path(os.path.realpath(current))
    return real.with_name(f".{real.name}.lock")


@contextlib.contextmanager
def plan_lock(current: Path):
    """An exclusive, non-blocking lock beside the plan; Busy (exit 75) when another run holds it.

    The lock file is removed when the run ends, whatever its outcome. NOTE: a run that opened the file just
    before its holder removed it gets a lock on a removed file; it sees the file changed and tries again.
    """
    lp = lock_path(current)
    while True:
        try:
            fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"cannot create the lock file ({e.strerror})", file=str(lp)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Busy(
                "another flyer eplb rebalance holds the lock; nothing was changed",
                file=str(current),
                hint="retry on the next run",
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lp))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lp)
        os.close(fd)


def rebalance(
    load: str | Path,
    current: str | Path,
    *,
    min_gain: float = 0.02,
    max_moves: int | None = None,
    tolerance: float = 0.01,
    expert_bytes: int = 0,
    dry_run: bool = False,
) -> Outcome:
    current = Path(current)
    if not (min_gain >= 0 and min_gain < 1):
        raise InputError(f"must be a fraction in [0, 1), got {min_gain}", field="min-gain")
    if max_moves is not None and max_moves < 0:
        raise InputError(f"must be non-negative, got {max_moves}", field="max-moves")
    if not current.is_file():
        raise InputError("plan file not found", file=str(current), hint="make one with flyer eplb plan --out")
    with plan_lock(current):
        old = read_plan(current)
        w = read_loads(load)
        with about_file(load, "weight"):
            before = evaluate(old, w, file=str(current))["overall"]
        m = old.meta
        hier = bool(m.get("hierarchical", False))
        new = make_plan(
            w,
            old.replicas,
            int(m.get("groups", 1)),
            old.nodes,
            old.gpus,
            policy="balanced",
            hierarchical=hier,
            previous=old,
            tolerance=tolerance,
            max_copies=max_moves,
        )
        after = evaluate(new, w)["overall"]
        n = int(copies(old, new).sum())
        gain = (before - after) / before if before > 0 else 0.0
        out = Outcome(False, "", before, after, gain, n, n * expert_bytes, str(current))
        if gain <= min_gain:
            out.reason = f"gain is not above --min-gain {min_gain * 100:g}%"
        elif dry_run:
            out.reason = "dry run"
        else:
            write_plan(new, current)
            out.replaced = True
            out.reason = f"gain is above --min-gain {min_gain * 100:g}%"
        if not out.replaced:
            out.after, out.copies, out.bytes = after, n, n * expert_bytes
        return out
