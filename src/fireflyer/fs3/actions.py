"""What deploy and teardown did (or, in a dry run, would do): one action per thing compared, how each host
ended (a host that failed is named with its step and error, and the others go on), the report their
commands print, and the one-line error that ends a run where a host failed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .reports import Action, ActionReport, HostState, HostSummary
from .ssh import HostFailed

SHOWN_FAILURES = 5
"""Failed hosts named in the error line (the report lists every one)."""


class StepProgress(Protocol):
    """Hears a run's steps: each begins with the number of hosts it works on and advances once per host."""

    def begin(self, step: str, hosts: int) -> None: ...

    def advance(self, step: str) -> None: ...


class Quiet:
    """A StepProgress that shows nothing."""

    def begin(self, step: str, hosts: int) -> None:
        pass

    def advance(self, step: str) -> None:
        pass


class ActionLog:
    """The actions of one deploy or teardown, appended as they are compared, and how each host ended."""

    def __init__(self, dry_run: bool, hosts: Iterable[str] = ()):
        self.dry_run = dry_run
        self.actions: list[Action] = []
        self.hosts = list(hosts)
        """Every host of the run, in the cluster's order."""
        self.failed: dict[str, tuple[str, str, str | None]] = {}
        """host -> (step, error, hint) of its first failure."""
        self.waiting: dict[str, tuple[str, list[str]]] = {}
        """host -> (its first step not done, the failed hosts that step needs)."""
        self.unreachable: dict[str, str] = {}
        self.steps: dict[str, int] = {}
        """step -> its place in the run."""

    def add(self, host: str, step: str, what: str, changed: bool) -> None:
        self.steps.setdefault(step, len(self.steps))
        self.actions.append(Action(host, step, what, changed))

    def ordered(self) -> list[Action]:
        """The actions by step (in the order steps began), then host (in the cluster's order): the same
        for every run, whichever host answered first."""
        at = {h: i for i, h in enumerate(self.hosts)}
        return sorted(self.actions, key=lambda a: (self.steps[a.step], at.get(a.host, len(at))))

    def fail(self, host: str, step: str, error: str, hint: str | None = None) -> None:
        """Record ``host`` failed at ``step`` with ``error`` (one line; its first failure counts)."""
        if host in self.failed:
            return
        self.failed[host] = (step, error, hint)
        if step == "connect":
            self.unreachable[host] = error
        self.waiting.pop(host, None)

    def wait(self, hosts: Iterable[str], step: str, needs: list[str]) -> None:
        """``hosts`` did not run ``step`` because it needs the failed hosts ``needs``."""
        for h in hosts:
            if h not in self.failed and h not in self.waiting:
                self.waiting[h] = (step, needs)

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.changed]

    @property
    def ok(self) -> bool:
        return not (self.failed or self.waiting)

    def report(self) -> ActionReport:
        per: dict[str, int] = {}
        for a in self.changes:
            per[a.host] = per.get(a.host, 0) + 1
        return ActionReport(
            dry_run=self.dry_run,
            changed=len(self.changes),
            changed_per_host=dict(sorted(per.items())),
            actions=self.ordered(),
            ok=self.ok,
            hosts=[self._summary(h, per.get(h, 0)) for h in self.hosts],
            unreachable=[f"{h}: {why}" for h, why in self.unreachable.items()],
        )

    def _summary(self, host: str, changed: int) -> HostSummary:
        if host in self.failed:
            step, error, _ = self.failed[host]
            return HostSummary(host=host, state=HostState.FAILED, changed=changed, step=step, error=error)
        if host in self.waiting:
            step, needs = self.waiting[host]
            return HostSummary(
                host=host, state=HostState.WAITING, changed=changed, step=step, error=_waits(needs)
            )
        state = HostState.CHANGED if changed else HostState.UNCHANGED
        return HostSummary(host=host, state=state, changed=changed)

    def check(self, what: str = "deploy") -> None:
        """Raise one HostFailed (exit 1) naming each failed host with its step and error, and the hosts
        left waiting, when the run did not finish everywhere."""
        if self.ok:
            return
        failed = list(self.failed.items())
        parts = [f"{h} at {step}: {error}" for h, (step, error, _) in failed[:SHOWN_FAILURES]]
        if len(failed) > SHOWN_FAILURES:
            parts.append(f"and {len(failed) - SHOWN_FAILURES} more")
        line = f"{what} failed on {len(failed)} of {len(self.hosts)} hosts: " + "; ".join(parts)
        if self.waiting:
            steps = sorted({step for step, _ in self.waiting.values()})
            n = len(self.waiting)
            line += f"; {n} {'host waits' if n == 1 else 'hosts wait'} ({', '.join(steps)})"
        hints = list(dict.fromkeys(hint for _, _, hint in self.failed.values() if hint))
        again = f"fix them, then run {what} again: it finishes only what is left"
        raise HostFailed(line, hint="; ".join([*hints, again]))


def _waits(needs: list[str]) -> str:
    more = len(needs) - SHOWN_FAILURES
    return f"needs {', '.join(needs[:SHOWN_FAILURES])}{f' and {more} more' if more > 0 else ''} (failed)"
