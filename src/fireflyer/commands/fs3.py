"""`flyer fs3`: plan, render, check, deploy and watch a 3FS cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import fs3 as lib
from ..errors import CheckFailed, InputError
from ..io import LIMITS, atomic_write, read_bytes
from . import fs3_bench
from ._options import JsonOpt, integer, number
from ._output import Output
from .views import fs3 as view

app = typer.Typer(
    help="3FS clusters: balanced chain tables, rendered configs, preflight checks, SSH deploy, status.",
    no_args_is_help=True,
)
plan_app = typer.Typer(
    help="Chain tables: a balanced placement of chains on storage nodes.", no_args_is_help=True
)
app.add_typer(plan_app, name="plan")
app.add_typer(fs3_bench.app, name="bench")

ClusterArg = Annotated[
    Path, typer.Argument(metavar="CLUSTER", help="Cluster description (YAML; see flyer fs3 init).")
]
OutDir = Annotated[
    Path | None,
    typer.Option("--out", "-o", metavar="DIR", help="Directory to write the files into.", file_okay=False),
]
Seed = Annotated[
    int, typer.Option("--seed", parser=integer, metavar="N", help="Seed of the placement search.")
]
KnownHosts = Annotated[
    str,
    typer.Option(
        "--known-hosts", metavar="FILE", help="SSH known_hosts file that host keys are checked against."
    ),
]
AcceptNew = Annotated[
    bool,
    typer.Option(
        "--accept-new-host-keys", help="Trust and record host keys not yet known (never a changed one)."
    ),
]
Timeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        parser=number(low=0, low_open=True),
        metavar="SECONDS",
        help="SSH connect timeout per host.",
    ),
]
DEFAULT_KH = "~/.ssh/known_hosts"  # NOTE: fs3.transport.DEFAULT_KNOWN_HOSTS; that module imports asyncssh


def _ssh(known_hosts: str, accept: bool, timeout: float) -> dict:
    return {"known_hosts": known_hosts, "accept_new_host_keys": accept, "timeout": timeout}


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Where to write the example (YAML).", dir_okay=False)
    ],
    cluster_id: Annotated[str, typer.Option("--cluster-id", metavar="ID", help="Cluster id.")] = "stage",
    storage_nodes: Annotated[
        int, typer.Option("--storage-nodes", parser=integer, metavar="N", help="Storage nodes.")
    ] = 5,
    disks: Annotated[
        int, typer.Option("--disks", parser=integer, metavar="N", help="SSDs per storage node.")
    ] = 16,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    json: JsonOpt = False,
) -> None:
    """Write a commented example cluster description: the deployment guide's six nodes.

    Beside it, unless one is there, an example FoundationDB cluster file to replace with your cluster's.

    Examples:
      flyer fs3 init cluster.yaml
      flyer fs3 init lab.yaml --cluster-id lab --storage-nodes 3 --disks 4
    """
    out = Output(json)
    if path.exists() and not force:
        raise InputError("already exists", file=str(path), hint="pass --force to replace it")
    text = lib.example_yaml(cluster_id, storage_nodes, disks)
    fdb = path.parent / "fdb.cluster"
    atomic_write(path, text)
    wrote_fdb = not fdb.exists()
    if wrote_fdb:
        atomic_write(fdb, lib.example_fdb_cluster(cluster_id))
    data = {
        "written": str(path),
        "cluster_id": cluster_id,
        "storage_nodes": storage_nodes,
        "disks": disks,
        "fdb_cluster_example": str(fdb) if wrote_fdb else None,
    }

    def render(o: Output) -> None:
        if wrote_fdb:
            o.line(f"wrote {fdb}: an example; replace it with your FoundationDB cluster file")
        o.line(f"wrote {path}: edit hosts, disks and paths, then: flyer fs3 render {path} --out rendered/")

    out.emit(data, render)


@plan_app.command("chains")
def plan_chains(
    cluster: Annotated[
        Path | None,
        typer.Argument(metavar="[CLUSTER]", help="Take nodes, disks and layout from a cluster description."),
    ] = None,
    nodes: Annotated[
        int | None, typer.Option("--nodes", parser=integer, metavar="V", help="Storage nodes.")
    ] = None,
    replication: Annotated[
        int, typer.Option("--replication", parser=integer, metavar="K", help="Replicas per chain.")
    ] = 3,
    min_targets: Annotated[
        int,
        typer.Option(
            "--min-targets-per-disk", parser=integer, metavar="R", help="Least targets on each disk."
        ),
    ] = 1,
    targets: Annotated[
        int | None,
        typer.Option(
            "--targets-per-disk", parser=integer, metavar="R", help="Exactly this many targets per disk."
        ),
    ] = None,
    disks: Annotated[
        int, typer.Option("--disks", parser=integer, metavar="D", help="Disks per storage node.")
    ] = 1,
    node_id_begin: Annotated[
        int,
        typer.Option(
            "--node-id-begin", parser=integer, metavar="ID", help="3FS node id of the first storage node."
        ),
    ] = 10001,
    target_prefix: Annotated[int, typer.Option("--target-prefix", parser=integer, metavar="P")] = 1,
    chain_prefix: Annotated[int, typer.Option("--chain-prefix", parser=integer, metavar="P")] = 9,
    classic: Annotated[
        bool, typer.Option("--classic-chunk-engine", help="Create targets without --use-new-chunk-engine.")
    ] = False,
    seed: Seed = 0,
    out_dir: OutDir = None,
    json: JsonOpt = False,
) -> None:
    """Balanced chain table: every node pair shares chains as evenly as possible; writes admin_cli's files.

    Examples:
      flyer fs3 plan chains --nodes 5 --replication 3 --min-targets-per-disk 6 --disks 16 --out chains/
      flyer fs3 plan chains --nodes 25 --min-targets-per-disk 12 --json
      flyer fs3 plan chains cluster.yaml --out chains/
    """
    out = Output(json)
    if cluster is not None:
        c = lib.load(cluster)
        p = lib.chain_layout(c)
        chains = lib.chain_table(c, p)
        disks = len(c.disks_of(c.with_role("storage")[0]))
    else:
        if nodes is None:
            raise InputError("give --nodes V or a cluster description", field="--nodes")
        p = lib.place(
            nodes,
            replication,
            min_targets,
            targets_per_disk=targets,
            seed=seed,
            disks=disks,
            files=out_dir is not None,
        )
        node_ids = list(range(node_id_begin, node_id_begin + nodes))
        chains = lib.build(p.blocks, node_ids, disks, target_prefix=target_prefix, chain_prefix=chain_prefix)
    data = {
        **p.summary(),
        "disks": disks,
        "chains": len(chains),
        "targets": sum(len(ch.targets) for ch in chains),
        "first_chain": {"chain_id": chains[0].chain_id, "targets": [t.target_id for t in chains[0].targets]},
        "written": [],
    }
    if out_dir is not None:
        from ..fs3 import chains as chain_files

        data["written"] = chain_files.write(chain_files.render(chains, new_chunk_engine=not classic), out_dir)
    out.emit(data, lambda o: view.plan(o, data))
    if p.shape.note:
        out.warn(p.shape.note)


@plan_app.command("add-nodes")
def plan_add_nodes(
    chains_csv: Annotated[
        Path,
        typer.Argument(
            metavar="CHAINS_CSV", help="The cluster's generated_chains.csv (as plan chains wrote it)."
        ),
    ],
    add: Annotated[int, typer.Option("--add", parser=integer, metavar="N", help="Storage nodes to add.")],
    node_ids: Annotated[
        str | None,
        typer.Option(
            "--node-ids",
            metavar="IDS",
            help="3FS node ids of the new nodes, comma-separated (default: next ids).",
        ),
    ] = None,
    min_targets: Annotated[
        int,
        typer.Option(
            "--min-targets-per-disk", parser=integer, metavar="R", help="Least targets on each disk."
        ),
    ] = 1,
    seed: Seed = 0,
    out_dir: OutDir = None,
    json: JsonOpt = False,
) -> None:
    """Plan adding storage nodes: a balanced table that moves as few existing targets as it can.

    Examples:
      flyer fs3 plan add-nodes chains/generated_chains.csv --add 1 --out grow/
      flyer fs3 plan add-nodes chains/generated_chains.csv --add 2 --node-ids 10006,10007 --json
    """
    out = Output(json)
    from ..fs3 import chains as chain_files

    if add < 1:
        raise InputError(f"must be at least 1, got {add}", field="--add")
    old = chain_files.read(chains_csv)
    if node_ids:
        try:
            new_ids = [int(x) for x in node_ids.split(",")]
        except ValueError:
            raise InputError(f"expected whole numbers, got {node_ids!r}", field="--node-ids") from None
        if len(new_ids) != add:
            raise InputError(f"{len(new_ids)} ids for {add} nodes", field="--node-ids")
    else:
        new_ids = list(range(max(old.node_ids) + 1, max(old.node_ids) + 1 + add))
    all_ids = old.node_ids + new_ids
    chain_files.check_ids(all_ids, old.disks, old.target_prefix, old.chain_prefix, 1)
    p = lib.extend(
        old.blocks, len(all_ids), min_targets, seed=seed, disks=old.disks, files=out_dir is not None
    )
    m = chain_files.extend_table(old, p.blocks, all_ids)
    data = {
        **p.summary(),
        "disks": old.disks,
        "new_node_ids": new_ids,
        "chains": len(m.chains),
        "new_chains": len(m.new_chains),
        "targets_created": len(m.created),
        "targets_moved": len(m.swaps),
        "written": [],
    }
    if out_dir is not None:
        data["written"] = chain_files.write(chain_files.render_migration(m), out_dir, inputs=[chains_csv])
    out.emit(data, lambda o: view.add_nodes(o, data))
    if p.shape.note:
        out.warn(p.shape.note)


@app.command()
def render(
    cluster: ClusterArg,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Directory to write into.", file_okay=False)
    ],
    json: JsonOpt = False,
) -> None:
    """Validate the description, then write every host's configs, units, chain files and the admin_cli script.

    Examples:
      flyer fs3 render cluster.yaml --out rendered/
      flyer fs3 render cluster.yaml --out rendered/ --json
    """
    out = Output(json)
    c = lib.load(cluster)
    b = lib.render(c)
    inputs = [cluster, c.foundationdb.cluster_file]
    if c.monitor and c.monitor.clickhouse.password_file:
        inputs.append(c.monitor.clickhouse.password_file)
    written = lib.rendering.write(b, out_dir, inputs=inputs)
    data = {
        "cluster_id": c.cluster_id,
        "admin_node": b.admin_node,
        "layout": b.layout.summary(),
        "files": {n: [f.path for f in fl] for n, fl in b.files.items()},
        "written": len(written),
        "out": str(out_dir),
        "warnings": b.warnings,
    }
    out.emit(data, lambda o: view.render(o, data))
    for w in b.warnings:
        out.warn(w)


@app.command()
def preflight(
    cluster: Annotated[
        Path | None, typer.Argument(metavar="[CLUSTER]", help="Check every host of this cluster.")
    ] = None,
    local: Annotated[bool, typer.Option("--local", help="Check this machine instead.")] = False,
    roles: Annotated[
        str, typer.Option("--roles", metavar="ROLES", help="--local: roles to check for, comma-separated.")
    ] = "mgmtd,meta,storage,fuse,monitor",
    disk: Annotated[
        list[str] | None, typer.Option("--disk", metavar="PATH", help="--local: a disk mount point (repeat).")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    known_hosts: KnownHosts = DEFAULT_KH,
    accept_new: AcceptNew = False,
    timeout: Timeout = 10.0,
    json: JsonOpt = False,
) -> None:
    """Check hosts before deploying: each check passes, warns or fails with a one-line fix.

    Kernel, CPU, memory, disks (XFS, noatime, free space), NIC names, RDMA devices, fs.aio-max-nr, FUSE,
    limits, init system, ports, clock sync. Exit 1 when any check fails.

    Examples:
      flyer fs3 preflight --local
      flyer fs3 preflight --local --roles storage --disk /storage/data1 --disk /storage/data2
      flyer fs3 preflight cluster.yaml --json
    """
    out = Output(json)
    if (cluster is None) == (not local):
        raise InputError("give a cluster description or --local (not both)", field="CLUSTER")
    from ..fs3 import checks

    if local:
        results = checks.local_checks(checks.want_here(roles, disk or ()))
    else:
        c = lib.load(cluster)
        wants = {n.name: checks.want_of(c, n) for n in c.nodes}
        got = lib.deployment.remote_facts(c, wants, **_ssh(known_hosts, accept_new, timeout))
        results = [chk for n in c.nodes for chk in checks.judge(wants[n.name], got[n.name])]
    data = checks.summarize(results)
    out.emit(data, lambda o: view.preflight(o, data))
    if data["counts"]["fail"] or (strict and data["counts"]["warn"]):
        raise CheckFailed(f"{data['counts']['fail']} checks failed, {data['counts']['warn']} warned")


@app.command()
def deploy(
    cluster: ClusterArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compare and print the plan; change nothing.")
    ] = False,
    known_hosts: KnownHosts = DEFAULT_KH,
    accept_new: AcceptNew = False,
    timeout: Timeout = 10.0,
    json: JsonOpt = False,
) -> None:
    """Deploy over SSH in the guide's order, on all hosts in parallel; idempotent and resumable.

    Files are compared by checksum and each admin_cli step is recorded on its host, so a second run changes
    nothing and a failed run resumes where it stopped. The admin token is written with mode 0600, never
    printed.

    Examples:
      flyer fs3 deploy cluster.yaml --dry-run
      flyer fs3 deploy cluster.yaml
      flyer fs3 deploy cluster.yaml --accept-new-host-keys --json
    """
    out = Output(json)
    c = lib.load(cluster)
    b = lib.render(c)
    plan = lib.deploy(
        c,
        b,
        dry_run=dry_run,
        note=lambda s: out.hint(f"deploy: {s}"),
        **_ssh(known_hosts, accept_new, timeout),
    )
    data = plan.summary()
    out.emit(data, lambda o: view.plan_actions(o, data, "deploy"))


@app.command()
def status(
    cluster: Annotated[
        Path | None, typer.Argument(metavar="[CLUSTER]", help="Ask the cluster's admin host.")
    ] = None,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="DIR",
            help="Read list-nodes.txt, list-targets.txt, list-chains.txt from DIR.",
            file_okay=False,
        ),
    ] = None,
    known_hosts: KnownHosts = DEFAULT_KH,
    accept_new: AcceptNew = False,
    timeout: Timeout = 10.0,
    json: JsonOpt = False,
) -> None:
    """Cluster health from admin_cli's list-nodes, list-targets and list-chains.

    Exit 1 when any target is not SERVING and UPTODATE, or any node or chain is down.

    Examples:
      flyer fs3 status cluster.yaml
      flyer fs3 status --from saved-listings/ --json
    """
    out = Output(json)
    if (cluster is None) == (from_dir is None):
        raise InputError("give a cluster description or --from DIR (not both)", field="CLUSTER")
    files = None
    if from_dir is not None:
        files = {k: str(from_dir / f"{k}.txt") for k in ("list-nodes", "list-targets", "list-chains")}
        texts = {
            k: read_bytes(f, what="admin_cli listing", limit=LIMITS["listing"]).decode("utf-8", "replace")
            for k, f in files.items()
        }
    else:
        texts = lib.deployment.listings(lib.load(cluster), **_ssh(known_hosts, accept_new, timeout))
    h = lib.assess(texts["list-nodes"], texts["list-targets"], texts["list-chains"], files=files)
    data = h.summary()
    out.emit(data, lambda o: view.status(o, data))
    if not h.ok:
        raise CheckFailed(
            f"{len(h.failures)} problems: {h.failures[0]}" + (" ..." if len(h.failures) > 1 else "")
        )


@app.command()
def teardown(
    cluster: ClusterArg,
    yes: Annotated[bool, typer.Option("--yes", help="Really stop services and remove files.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed.")] = False,
    purge_data: Annotated[
        bool, typer.Option("--purge-data", help="Remove target data directories too.")
    ] = False,
    known_hosts: KnownHosts = DEFAULT_KH,
    accept_new: AcceptNew = False,
    timeout: Timeout = 10.0,
    json: JsonOpt = False,
) -> None:
    """Stop every service deploy started and remove everything it created (target data: --purge-data).

    Examples:
      flyer fs3 teardown cluster.yaml --dry-run
      flyer fs3 teardown cluster.yaml --yes --purge-data
    """
    out = Output(json)
    if not (yes or dry_run):
        raise InputError(
            "teardown stops the cluster and removes its files",
            field="--yes",
            hint="pass --yes (or --dry-run)",
        )
    c = lib.load(cluster)
    plan = lib.teardown(c, dry_run=dry_run, purge_data=purge_data, **_ssh(known_hosts, accept_new, timeout))
    data = plan.summary()
    out.emit(data, lambda o: view.plan_actions(o, data, "teardown"))
