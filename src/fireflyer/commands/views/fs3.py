"""How `flyer fs3` results look on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def action_report(o: Output, r: ActionReport, what: str) -> None:
    rows = [(a.host, a.step, a.what) for a in r.actions if a.changed]
    verb = "would change" if r.dry_run else "changed"
    if rows:
        o.table(["host", "step", "action"], rows, justify=["left"] * 3, title=f"{what}: {verb}")
    if r.changed == 0:
        o.line(f"{what}: nothing to change ({len(r.actions)} checks, all in place)")
    else:
        o.line(f"{what}: {verb} {r.changed} things on {len(r.changed_per_host)} hosts")


def status(o: Output, r: HealthReport) -> None:
    o.table(
        ["id", "type", "status", "host", "config"],
        [(n["Id"], n["Type"], n["Status"], n["Hostname"], n.get("ConfigVersion", "")) for n in r.node_rows],
        justify=["left"] * 5,
        title="Nodes",
    )
    o.kv(
        {
            "targets": f"{r.targets.total}: " + ", ".join(f"{k} {v}" for k, v in r.targets.by_state.items()),
            "chains": f"{r.chains.total}: " + ", ".join(f"{k} {v}" for k, v in r.chains.by_status.items()),
            "health": "OK" if r.ok else f"{len(r.failures)} problems",
        }
    )
    for f in r.failures[:20]:
        o.line(f"FAIL {f}")
    for w in r.warnings[:20]:
        o.line(f"WARN {w}")
