"""``flyer eplb rebalance`` for cron: a lock, a migration-aware plan, and an atomic replace only when
the balance gain is worth it. A failed or killed run leaves the current plan as it was."""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import Busy, InputError
from .evaluate import copies, evaluate
from .io import read_loads, read_plan, write_plan
from .rebalance import plan as make_plan


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
        return (f"{verb} {self.plan}: max/mean {self.before:.4f} -> {self.after:.4f} "
                f"(gain {self.gain * 100:.2f}%), {self.copies} expert copies ({self.bytes / 2**30:.2f} GiB); "
                f"{self.reason}")


def lock_path(current: Path) -> Path:
    return current.with_name(f".{current.name}.lock")


@contextlib.contextmanager
def plan_lock(current: Path):
    """An exclusive, non-blocking lock beside the plan; Busy (exit 75) when another run holds it."""
    lp = lock_path(current)
    try:
        fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise InputError(f"cannot create the lock file ({e.strerror})", file=str(lp)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("another flyer eplb rebalance holds the lock; nothing was changed", file=str(current),
                       hint="retry on the next run") from None
        yield
    finally:
        os.close(fd)  # NOTE: closing releases the flock; the lock file stays for the next run


def rebalance(load: str | Path, current: str | Path, *, min_gain: float = 0.02, max_moves: int | None = None,
              tolerance: float = 0.01, expert_bytes: int = 0, dry_run: bool = False) -> Outcome:
    current = Path(current)
    if min_gain < 0:
        raise InputError(f"must be non-negative, got {min_gain}", field="min-gain")
    if max_moves is not None and max_moves < 0:
        raise InputError(f"must be non-negative, got {max_moves}", field="max-moves")
    if not current.is_file():
        raise InputError("plan file not found", file=str(current), hint="make one with flyer eplb plan --out")
    with plan_lock(current):
        old = read_plan(current)
        w = read_loads(load)
        before = evaluate(old, w, file=str(current))["overall"]
        m = old.meta
        hier = bool(m.get("hierarchical", False))
        new = make_plan(w, old.replicas, int(m.get("groups", 1)), old.nodes, old.gpus, policy="balanced",
                        hierarchical=hier, previous=old, tolerance=tolerance, max_copies=max_moves)
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
