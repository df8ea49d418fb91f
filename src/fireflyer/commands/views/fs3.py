"""How `flyer fs3` results look on a terminal."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .._output import Output

if TYPE_CHECKING:
    from ...fs3 import (
        ActionReport,
        AddNodesReport,
        ChainLayout,
        HealthReport,
        PlanReport,
        PreflightReport,
        RenderReport,
    )
    from ...fs3.reports import HostHealth, HostSummary

ONE_ROW_EACH = 24
"""Up to this many hosts a table has a row per host; beyond, hosts in the same state share a row."""
MAX_ACTION_ROWS = 40
"""Beyond this many changes, deploy and teardown count them per step instead of listing each."""


def _written(paths: list[str]) -> str:
    return ", ".join(paths) if paths else "- (use --out DIR)"


def _pair_counts(o: Output, r: ChainLayout) -> None:
    o.table(["chains shared", "node pairs"], list(r.pair_count_histogram.items()), title="Pair counts")


def plan(o: Output, r: PlanReport) -> None:
    pt, (lo, hi) = r.peer_traffic, r.pair_count_target
    o.kv(
        {
            "layout": f"{r.nodes} nodes x {r.disks} disks, replication {r.replication}, "
            f"{r.targets_per_disk} targets per disk",
            "chains": f"{r.chains} ({r.chains_per_disk} per disk), {r.targets} targets",
            "balanced": f"{'yes' if r.balanced else 'NO'}: every pair shares "
            + (f"{lo}" if lo == hi else f"{lo} or {hi}")
            + " chains"
            + ("" if r.balanced else " (not reached)"),
            "failure read load": f"a peer takes {pt.min:.3g}..{pt.max:.3g} targets' reads "
            "when a disk fails" + (f" (spread {pt.spread:.3g})" if pt.spread else ""),
            "search": f"{r.method}, {r.steps} steps, {r.seconds * 1000:.1f} ms",
            "first chain": f"{r.first_chain.chain_id}: " + ", ".join(map(str, r.first_chain.targets)),
            "written": _written(r.written),
        }
    )
    _pair_counts(o, r)


def add_nodes(o: Output, r: AddNodesReport) -> None:
    o.kv(
        {
            "layout": f"{r.nodes} nodes, {r.targets_per_disk} targets per disk, {r.chains} chains",
            "new nodes": ", ".join(map(str, r.new_node_ids)),
            "balanced": "yes" if r.balanced else "NO",
            "targets moved": f"{r.targets_moved} (existing targets replaced in their chains)",
            "targets created": r.targets_created,
            "new chains": r.new_chains,
            "written": _written(r.written),
        }
    )
    _pair_counts(o, r)


def render(o: Output, r: RenderReport) -> None:
    balanced = "yes" if r.layout.balanced else "NO"
    o.kv(
        {
            "cluster": r.cluster_id,
            "chains": f"{r.layout.chains_per_disk} per disk, balanced: {balanced}",
            "admin_cli runs on": r.admin_node,
            "written": f"{r.written} files under {r.out}",
        }
    )
    o.table(["node", "files"], [(n, len(fl)) for n, fl in r.files.items()], title="Files per node")


def preflight(o: Output, r: PreflightReport) -> None:
    o.table(
        ["host", "check", "status", "detail", "fix"],
        [(c.host, c.name, c.status.upper(), c.detail, c.fix or "") for c in r.checks],
        justify=["left"] * 5,
    )
    n = r.counts
    o.line(f"{n.pass_} passed, {n.warn} warned, {n.fail} failed")


def name_ranges(names: list[str]) -> str:
    """Names with runs of consecutive numbers shortened: storage1, storage2, storage3, storage5 ->
    storage1-3, storage5 (in the order given)."""
    runs: list[tuple[str, str, str]] = []  # (prefix, first number, last number)
    for name in names:
        m = re.fullmatch(r"(.*?)(\d+)", name)
        if m and runs:
            prefix, first, last = runs[-1]
            num = m.group(2)
            if (
                prefix == m.group(1)
                and last
                and int(num) == int(last) + 1
                and (num[0] != "0" or len(num) == len(last))
            ):
                runs[-1] = (prefix, first, num)
                continue
        runs.append((m.group(1), m.group(2), m.group(2)) if m else (name, "", ""))
    return ", ".join(p + (f if f == last else f"{f}-{last}") for p, f, last in runs)


class _Bars:
    """deploy's StepProgress on the terminal: a bar per step on stderr (a line per step when stderr is not a
    terminal; nothing in JSON mode)."""

    def __init__(self, out: Output, what: str, bar: Progress | None):
        self.out, self.what, self.bar = out, what, bar
        self.tasks: dict[str, TaskID] = {}

    def begin(self, step: str, hosts: int) -> None:
        if self.bar is not None:
            self.tasks[step] = self.bar.add_task(step, total=hosts)
        elif not self.out.json_mode:
            self.out.hint(f"{self.what}: {step} ({hosts} host{'' if hosts == 1 else 's'})")

    def advance(self, step: str) -> None:
        if self.bar is not None and step in self.tasks:
            self.bar.advance(self.tasks[step])


@contextlib.contextmanager
def step_bars(out: Output, what: str) -> Iterator[_Bars]:
    """Progress for a run over many hosts (``fs3.actions.StepProgress``)."""
    if out.json_mode or not out.err.is_terminal:
        yield _Bars(out, what, None)
        return
    columns = (TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out.err) as bar:
        yield _Bars(out, what, bar)


def action_report(o: Output, r: ActionReport, what: str) -> None:
    for u in r.unreachable:
        o.line(f"unreachable: {u}")
    changes = [a for a in r.actions if a.changed]
    verb = "would change" if r.dry_run else "changed"
    if 0 < len(changes) <= MAX_ACTION_ROWS:
        rows = [(a.host, a.step, a.what) for a in changes]
        o.table(["host", "step", "action"], rows, justify=["left"] * 3, title=f"{what}: {verb}")
    elif changes:
        per: dict[str, tuple[set[str], int]] = {}
        for a in changes:
            hosts, n = per.get(a.step, (set(), 0))
            per[a.step] = (hosts | {a.host}, n + 1)
        rows2 = [(step, len(hosts), n) for step, (hosts, n) in per.items()]
        o.table(["step", "hosts", "changes"], rows2, title=f"{what}: {verb}, per step")
    _host_summary(o, r.hosts)
    if r.changed == 0:
        o.line(f"{what}: nothing to change ({len(r.actions)} checks, all in place)")
    else:
        o.line(f"{what}: {verb} {r.changed} things on {len(r.changed_per_host)} hosts")
    failed = [h for h in r.hosts if h.state == "failed"]
    waiting = [h for h in r.hosts if h.state == "waiting"]
    if failed or waiting:
        o.line(
            f"{what}: {len(failed)} failed, {len(waiting)} waiting, of {len(r.hosts)} hosts; "
            f"run {what} again once fixed"
        )


def _host_summary(o: Output, hosts: list[HostSummary]) -> None:
    """How each host ended: failed and waiting hosts one row each, the others grouped when many."""
    if not hosts or (len(hosts) == 1 and hosts[0].state in ("changed", "unchanged")):
        return
    rows: list[tuple[str, str, int, str | None, str | None]] = []
    if len(hosts) <= ONE_ROW_EACH:
        rows = [(h.state.value, h.host, h.changed, h.step, h.error) for h in hosts]
    else:
        for state in ("changed", "unchanged"):
            group = [h for h in hosts if h.state == state]
            if group:
                names = name_ranges([h.host for h in group])
                rows.append((state, names, sum(h.changed for h in group), None, None))
        rows += [
            (h.state.value, h.host, h.changed, h.step, h.error)
            for h in hosts
            if h.state not in ("changed", "unchanged")
        ]
    cols = ["state", "hosts", "changes", "step", "error"]
    if all(h.state in ("changed", "unchanged") for h in hosts):
        cols, rows = cols[:3], [r[:3] for r in rows]  # type: ignore[misc]
    o.table(cols, rows, justify=["left", "left", "right", "left", "left"][: len(cols)], title="Hosts")


def status(o: Output, r: HealthReport) -> None:
    _hosts_health(o, r.hosts)
    o.kv(
        {
            "targets": f"{r.targets.total}: " + ", ".join(f"{k} {v}" for k, v in r.targets.by_state.items()),
            "chains": f"{r.chains.total}: " + ", ".join(f"{k} {v}" for k, v in r.chains.by_status.items()),
            "health": "OK" if r.ok else f"{len(r.failures)} problems",
        }
    )
    for f in r.failures[:20]:
        o.line(f"FAIL {f}")
    if len(r.failures) > 20:
        o.line(f"... and {len(r.failures) - 20} more problems (--json lists every one)")
    for w in r.warnings[:20]:
        o.line(f"WARN {w}")


def _hosts_health(o: Output, hosts: list[HostHealth]) -> None:
    """One row per host when few; beyond ONE_ROW_EACH, one row per (services, state, targets all up)."""

    def targets(ok: int, total: int) -> str:
        return f"{ok}/{total}" if total else "-"

    if len(hosts) <= ONE_ROW_EACH:
        rows = [
            (h.host, " ".join(h.services) or "-", h.state, targets(h.targets_ok, h.targets)) for h in hosts
        ]
        o.table(
            ["host", "services", "state", "targets up"], rows, justify=["left"] * 3 + ["right"], title="Hosts"
        )
        return
    groups: dict[tuple[str, str, bool], list[HostHealth]] = {}
    for h in hosts:
        groups.setdefault((" ".join(h.services) or "-", h.state, h.targets_ok == h.targets), []).append(h)
    rows2 = [
        (
            state,
            len(g),
            services,
            targets(sum(h.targets_ok for h in g), sum(h.targets for h in g)),
            name_ranges([h.host for h in g]),
        )
        for (services, state, _), g in sorted(groups.items(), key=lambda kv: (kv[0][1] != "OK", not kv[0][2]))
    ]
    o.table(
        ["state", "hosts", "services", "targets up", "names"],
        rows2,
        justify=["left", "right", "left", "right", "left"],
        title=f"Hosts ({len(hosts)})",
    )
