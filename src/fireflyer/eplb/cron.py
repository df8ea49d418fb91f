"""``flyer eplb rebalance`` for cron: a lock, a migration-aware plan, and an atomic replace only when
the balance gain is worth it, in the plan's own format and layers (an SGLang plan stays an SGLang plan). A
failed or killed run leaves the current plan as it was."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import time
from pathlib import Path

import msgspec

from ..errors import Busy, InputError
from ..io import check_outputs, check_regular
from .formats import engine_step, load_paths, read_loads, read_plan, write_plan
from .layouts import expert_bytes as bytes_per_copy
from .metrics import copies, evaluate
from .planning import plan_loads


class RebalanceResult(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What ``flyer eplb rebalance`` did and why (``--json``): the plan's max/mean on the new loads before
    and after, the copies and bytes the move costs, and whether the plan was replaced."""

    replaced: bool
    reason: str
    before: float
    after: float
    gain: float
    """(before - after) / before."""
    copies: int
    bytes: int
    plan: str
    format: str = "native"
    next_step: str | None = None
    """After a replacement: how the engine takes the new plan."""
    removed: list[str] = msgspec.field(default_factory=list)
    """Temporary files of the plan that a killed run left, removed by this one."""
    message: str = ""
    """The one line the command prints (``line()``)."""

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
            # NOTE: O_NOFOLLOW: a link planted under the lock's name is refused, not opened for writing.
            fd = os.open(lp, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
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


STALE_AFTER_S = 60
"""A temporary file of the plan older than this is a killed run's leftover, not a write in progress."""


def remove_stale_temps(current: Path) -> list[Path]:
    """Remove what a killed write of ``current`` left beside it: ``.NAME.XXXXXXXX.tmp``, exactly the name
    ``io.atomic_path`` gives its temporary file (NOTE: tempfile.mkstemp's 8 characters of [a-z0-9_]), a
    regular file not modified for STALE_AFTER_S. Run under the plan's lock; returns the files removed."""
    real = Path(os.path.realpath(current))
    pattern = re.compile(rf"\.{re.escape(real.name)}\.[a-z0-9_]{{8}}\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(real.parent):
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime > STALE_AFTER_S:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def rebalance(
    load: str | Path,
    current: str | Path,
    *,
    min_gain: float = 0.02,
    max_moves: int | None = None,
    tolerance: float = 0.01,
    expert_bytes: int | None = None,
    dry_run: bool = False,
    gpus: int | None = None,
    nodes: int | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
) -> RebalanceResult:
    """``flyer eplb rebalance``, the cron job (not DeepSeek's ``rebalance_experts``): plan from ``current``
    for the loads in ``load`` and replace ``current`` (same format, same layers) when max/mean improves by
    more than ``min_gain``. ``gpus``/``nodes`` where the plan does not say (SGLang and TensorRT-LLM files);
    ``model``/``first_moe_layer`` say which decoder layers the load's rows are; ``expert_bytes`` per copy
    (default: the model profile's FP8 size)."""
    current = Path(current)
    eb, _ = bytes_per_copy(model, expert_bytes)
    if not (min_gain >= 0 and min_gain < 1):
        raise InputError(f"must be a fraction in [0, 1), got {min_gain}", field="min-gain")
    if max_moves is not None and max_moves < 0:
        raise InputError(f"must be non-negative, got {max_moves}", field="max-moves")
    if not current.exists():
        raise InputError("plan file not found", file=str(current), hint="make one with flyer eplb plan --out")
    check_regular(current, what="plan file")
    check_outputs([] if dry_run else [current], load_paths(load))
    with plan_lock(current):
        removed = [] if dry_run else [str(p) for p in remove_stale_temps(current)]
        old = read_plan(current, gpus=gpus, nodes=nodes, model=model, first_moe_layer=first_moe_layer)
        made = plan_loads(
            read_loads(load),
            file=load,
            model=model,
            first_moe_layer=first_moe_layer,
            hierarchical=bool(old.meta.get("hierarchical", False)),
            previous=old,
            tolerance=tolerance,
            max_copies=max_moves,
        )
        new, w = made.plan, made.loads
        before = evaluate(old, w, layer_ids=old.layer_ids, file=str(current)).overall
        after = evaluate(new, w, layer_ids=new.layer_ids).overall
        n = int(copies(old, new).sum())
        gain = (before - after) / before if before > 0 else 0.0
        fmt = old.meta.get("format", "native")
        out = RebalanceResult(
            replaced=False,
            reason="",
            before=before,
            after=after,
            gain=gain,
            copies=n,
            bytes=n * eb,
            plan=str(current),
            format=fmt,
            removed=removed,
        )
        if gain <= min_gain:
            out.reason = f"gain is not above --min-gain {min_gain * 100:g}%"
        elif dry_run:
            out.reason = "dry run"
        else:
            write_plan(new, current, fmt)
            out.replaced = True
            out.reason = f"gain is above --min-gain {min_gain * 100:g}%"
            out.next_step = engine_step(fmt, current, new)
        out.message = out.line()
        return out
