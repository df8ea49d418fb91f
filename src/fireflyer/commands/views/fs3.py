"""How `flyer fs3` results look on a terminal."""

from __future__ import annotations

from .._output import Output


def plan(o: Output, d: dict) -> None:
    pt = d["peer_traffic"]
    o.kv(
        {
            "layout": f"{d['nodes']} nodes x {d['disks']} disks, replication {d['replication']}, "
            f"{d['targets_per_disk']} targets per disk",
            "chains": f"{d['chains']} ({d['chains_per_disk']} per disk), {d['targets']} targets",
            "balanced": f"{'yes' if d['balanced'] else 'NO'}: every pair shares "
            + (
                f"{d['pair_count_target'][0]}"
                if d["pair_count_target"][0] == d["pair_count_target"][1]
                else f"{d['pair_count_target'][0]} or {d['pair_count_target'][1]}"
            )
            + " chains"
            + ("" if d["balanced"] else " (not reached)"),
            "failure read load": f"a peer takes {pt['min']:.3g}..{pt['max']:.3g} targets' reads "
            "when a disk fails" + (f" (spread {pt['spread']:.3g})" if pt["spread"] else ""),
            "search": f"{d['method']}, {d['steps']} steps, {d['seconds'] * 1000:.1f} ms",
            "first chain": f"{d['first_chain']['chain_id']}: "
            + ", ".join(map(str, d["first_chain"]["targets"])),
            "written": ", ".join(d["written"]) if d["written"] else "- (use --out DIR)",
        }
    )
    o.table(["chains shared", "node pairs"], list(d["pair_count_histogram"].items()), title="Pair counts")


def add_nodes(o: Output, d: dict) -> None:
    o.kv(
        {
            "layout": f"{d['nodes']} nodes, {d['targets_per_disk']} targets per disk, {d['chains']} chains",
            "new nodes": ", ".join(map(str, d["new_node_ids"])),
            "balanced": "yes" if d["balanced"] else "NO",
            "targets moved": f"{d['targets_moved']} (existing targets replaced in their chains)",
            "targets created": d["targets_created"],
            "new chains": d["new_chains"],
            "written": ", ".join(d["written"]) if d["written"] else "- (use --out DIR)",
        }
    )
    o.table(["chains shared", "node pairs"], list(d["pair_count_histogram"].items()), title="Pair counts")


def render(o: Output, d: dict) -> None:
    lay = d["layout"]
    o.kv(
        {
            "cluster": d["cluster_id"],
            "chains": f"{lay['chains_per_disk']} per disk, balanced: {'yes' if lay['balanced'] else 'NO'}",
            "admin_cli runs on": d["admin_node"],
            "written": f"{d['written']} files under {d['out']}",
        }
    )
    o.table(["node", "files"], [(n, len(fl)) for n, fl in d["files"].items()], title="Files per node")


def preflight(o: Output, d: dict) -> None:
    o.table(
        ["host", "check", "status", "detail", "fix"],
        [(c["host"], c["name"], c["status"].upper(), c["detail"], c["fix"] or "") for c in d["checks"]],
        justify=["left"] * 5,
    )
    n = d["counts"]
    o.line(f"{n['pass']} passed, {n['warn']} warned, {n['fail']} failed")


def plan_actions(o: Output, d: dict, what: str) -> None:
    rows = [(a["host"], a["step"], a["what"]) for a in d["actions"] if a["changed"]]
    verb = "would change" if d["dry_run"] else "changed"
    if rows:
        o.table(["host", "step", "action"], rows, justify=["left"] * 3, title=f"{what}: {verb}")
    if d["changed"] == 0:
        o.line(f"{what}: nothing to change ({len(d['actions'])} checks, all in place)")
    else:
        o.line(f"{what}: {verb} {d['changed']} things on {len(d['changed_per_host'])} hosts")


def status(o: Output, d: dict) -> None:
    o.table(
        ["id", "type", "status", "host", "config"],
        [
            (r["Id"], r["Type"], r["Status"], r["Hostname"], r.get("ConfigVersion", ""))
            for r in d["node_rows"]
        ],
        justify=["left"] * 5,
        title="Nodes",
    )
    o.kv(
        {
            "targets": f"{d['targets']['total']}: "
            + ", ".join(f"{k} {v}" for k, v in d["targets"]["by_state"].items()),
            "chains": f"{d['chains']['total']}: "
            + ", ".join(f"{k} {v}" for k, v in d["chains"]["by_status"].items()),
            "health": "OK" if d["ok"] else f"{len(d['failures'])} problems",
        }
    )
    for f in d["failures"][:20]:
        o.line(f"FAIL {f}")
    for w in d["warnings"][:20]:
        o.line(f"WARN {w}")
