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
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from ..errors import Busy, InputError
from ..io import atomic_dir, check_outputs, check_regular
from .collect import CollectJob, CollectResult, beside
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
    collected: CollectResult | None = None
    """``--collect-from``: the load collected from the server (its file is ``load``)."""
    load: str = ""
    message: str = ""
    """The one line the command prints (``line()``)."""
    gpu_load_before: list[list[float] | None] = []
    """Each GPU's load over its layer's mean under the plan in place, on the new loads, a row per layer
    (``metrics.load_over_mean``)."""
    gpu_load: list[list[float] | None] = []
    """The same under the new plan (written or, in a dry run or below --min-gain, not)."""

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
def plan_lock(current: Path, *, holder: str = "flyer eplb rebalance") -> Iterator[None]:
    """An exclusive, non-blocking lock beside the plan (or any file ``holder`` guards); Busy (exit 75) when
    another run holds it.

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
                f"another {holder} holds the lock; nothing was changed",
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
    load: str | Path | None,
    current: str | Path,
    *,
    collect: CollectJob | None = None,
    min_gain: float = 0.02,
    max_moves: int | None = None,
    tolerance: float = 0.01,
    expert_bytes: int | None = None,
    dry_run: bool = False,
    gpus: int | None = None,
    nodes: int | None = None,
    model: str | None = None,
    first_moe_layer: int | None = None,
    progress: Callable[..., None] | None = None,
) -> RebalanceResult:
    """``flyer eplb rebalance``, the cron job (not DeepSeek's ``rebalance_experts``): plan from ``current``
    for the loads in ``load`` and replace ``current`` (same format, same layers) when max/mean improves by
    more than ``min_gain``. ``gpus``/``nodes`` where the plan does not say (SGLang and TensorRT-LLM files);
    ``model``/``first_moe_layer`` say which decoder layers the load's rows are; ``expert_bytes`` per copy
    (default: the model profile's FP8 size). ``collect``: first collect the load from a running SGLang server
    into ``load`` (default: beside the plan, ``PLAN.load.pt``), under the plan's lock."""
    current = Path(current)
    if load is None and collect is None:
        raise InputError("give --load, or --collect-from to collect it", field="load")
    load = Path(load) if load is not None else beside(current)
    eb, _ = bytes_per_copy(model, expert_bytes)
    if not (min_gain >= 0 and min_gain < 1):
        raise InputError(f"must be a fraction in [0, 1), got {min_gain}", field="min-gain")
    if max_moves is not None and max_moves < 0:
        raise InputError(f"must be non-negative, got {max_moves}", field="max-moves")
    if not current.exists():
        raise InputError("plan file not found", file=str(current), hint="make one with flyer eplb plan --out")
    check_regular(current, what="plan file")
    written = ([] if dry_run else [current]) + ([load] if collect else [])
    check_outputs(written, ([current] if dry_run else []) if collect else load_paths(load))
    with plan_lock(current):
        removed = [] if dry_run else [str(p) for p in remove_stale_temps(current)]
        collected = collect.run(load, progress=progress) if collect else None
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
        was = evaluate(old, w, layer_ids=old.layer_ids, file=str(current))
        now = evaluate(new, w, layer_ids=new.layer_ids)
        before, after = was.overall, now.overall
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
            gpu_load_before=was.gpu_load,
            gpu_load=now.gpu_load,
            collected=collected,
            load=str(load),
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


SYSTEMD_UNIT = "flyer-eplb-rebalance"
ON_CALENDAR = re.compile(r"[A-Za-z0-9*:/,.~+ -]{1,64}")
"""What systemd.time(7) calendar events are made of (``hourly``, ``*:0/15``, ``Mon..Fri 02:00``)."""


def systemd_units(
    argv: list[str], *, on_calendar: str = "hourly", replaced_exit: int | None = None
) -> dict[str, str]:
    """``flyer-eplb-rebalance.service`` (a oneshot running ``argv``) and ``.timer`` (``on_calendar``).

    Exit 75 (another run holds the lock) and ``replaced_exit`` count as success, so the unit fails only on a
    real failure; the output goes to the journal, one line per event."""
    from ..systemd import command_line, unit_file

    if not ON_CALENDAR.fullmatch(on_calendar):
        raise InputError(f"expected a systemd calendar event, got {on_calendar!r}", field="on-calendar")
    ok = " ".join(["75", *([str(replaced_exit)] if replaced_exit is not None else [])])
    service = {
        "Unit": {
            "Description": "flyer eplb rebalance: replace the EPLB plan when new loads make it worth it",
            "Wants": "network-online.target",
            "After": "network-online.target",
        },
        "Service": {"Type": "oneshot", "ExecStart": command_line(argv), "SuccessExitStatus": ok},
    }
    timer = {
        "Unit": {"Description": f"Run {SYSTEMD_UNIT}.service {on_calendar}"},
        "Timer": {"OnCalendar": on_calendar, "Persistent": "true"},
        "Install": {"WantedBy": "timers.target"},
    }
    return {f"{SYSTEMD_UNIT}.service": unit_file(service), f"{SYSTEMD_UNIT}.timer": unit_file(timer)}


def write_systemd(
    directory: str | Path, argv: list[str], *, on_calendar: str = "hourly", replaced_exit: int | None = None
) -> list[str]:
    """Write ``systemd_units`` into ``directory``, the service and the timer together or neither
    (``io.atomic_dir``); returns the files written."""
    d = Path(directory)
    if not d.is_dir():
        raise InputError("not a directory", file=str(d), field="systemd")
    units = systemd_units(argv, on_calendar=on_calendar, replaced_exit=replaced_exit)
    with atomic_dir(d) as tmp:
        for name, text in units.items():
            (tmp / name).write_text(text)
    return [str(d / name) for name in units]
