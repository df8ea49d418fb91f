"""What deploy and teardown did (or, in a dry run, would do): one action per thing compared, and the
report their commands print."""

from __future__ import annotations

from .reports import Action, ActionReport


class ActionLog:
    """The actions of one deploy or teardown, appended as they are compared."""

    def __init__(self, dry_run: bool):
        self.dry_run = dry_run
        self.actions: list[Action] = []

    def add(self, host: str, step: str, what: str, changed: bool) -> None:
        self.actions.append(Action(host, step, what, changed))

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.changed]

    def report(self) -> ActionReport:
        per: dict[str, int] = {}
        for a in self.changes:
            per[a.host] = per.get(a.host, 0) + 1
        return ActionReport(
            dry_run=self.dry_run,
            changed=len(self.changes),
            changed_per_host=dict(sorted(per.items())),
            actions=list(self.actions),
        )
