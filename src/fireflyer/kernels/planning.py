"""What a bench run will do: the suite's cases of the operations asked for, and per operation the backends
that run on the device and those that cannot (with the reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError
from .backends import BACKENDS, availability, check_names
from .cases import Case
from .results import Skipped


@dataclass
class RunPlan:
    """What a run will do: the cases, and per operation the backends that run and those that cannot."""

    cases: list[Case]
    backends: dict[str, list[str]]
    skipped: list[Skipped] = field(default_factory=list)


def plan_run(cases: list[Case], ops: list[str] | None, names: list[str] | None, device: str) -> RunPlan:
    """Pick the cases of ``ops`` and the backends of ``names`` (default: every backend) that can run on
    ``device``. A backend asked for by name that cannot run is an error saying why; one not asked for is
    listed as skipped with the reason."""
    check_names(ops, names)
    picked = [c for c in cases if ops is None or c.op in ops]
    if not picked:
        raise InputError(f"the suite has no case of {', '.join(ops or [])}", field="op")
    present = sorted({c.op for c in picked})
    if names is not None:
        orphans = [n for n in names if not any(n in BACKENDS[op] for op in present)]
        if orphans:
            raise InputError(
                f"backend {orphans[0]!r} runs none of the operations here ({', '.join(present)})",
                field="backend",
            )
    out = RunPlan(picked, {})
    for op in present:
        wanted = [b for b in BACKENDS[op] if names is None or b in names]
        runnable = []
        for b in wanted:
            a = availability(op, b, device)
            if a.available:
                runnable.append(b)
            elif names is not None:
                raise InputError(f"backend {b} cannot run {op} here: {a.reason}", field="backend")
            else:
                out.skipped.append(Skipped(op=op, backend=b, reason=a.reason or "unavailable"))
        out.backends[op] = runnable
    return out
