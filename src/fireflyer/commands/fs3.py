"""`flyer fs3`: plan, render, check, deploy and watch a 3FS cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import fs3 as lib
from ..errors import CheckFailed, InputError
from ..fs3 import reports
from ..gates import write_junit
from . import fs3_bench
from ._options import (
    AcceptNewHostKeysOpt,
    JsonOpt,
    JunitOpt,
    KnownHostsOpt,
    MinTargetsPerDiskOpt,
    OutDirOpt,
    PlacementSeedOpt,
    PlotOpt,
    SshParallelOpt,
    SshTimeoutOpt,
    integer,
)
from ._output import Output
from .views import fs3 as view
from .views import fs3_plot, plotting

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
DEFAULT_KH = "~/.ssh/known_hosts"  # NOTE: fs3.ssh.DEFAULT_KNOWN_HOSTS, here without importing the library


RESULTS: dict[str, type] = {
    "init": reports.InitReport,
    "plan chains": reports.PlanReport,
    "plan add-nodes": reports.AddNodesReport,
    "render": reports.RenderReport,
    "preflight": reports.PreflightReport,
    "deploy": reports.ActionReport,
    "status": reports.HealthReport,
    "teardown": reports.ActionReport,
    **fs3_bench.RESULTS,
}
"""Each command (as typed after ``flyer fs3``) -> the record its ``--json`` encodes."""


def _ssh(known_hosts: str, accept: bool, timeout: float, parallel: int = 32) -> lib.SshSettings:
    return lib.SshSettings(
        known_hosts=known_hosts, accept_new_host_keys=accept, timeout=timeout, parallel=parallel
    )


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
    r = lib.write_example(path, cluster_id, storage_nodes, disks, force=force)

    def render(o: Output) -> None:
        if r.fdb_cluster_example:
            o.line(
                f"wrote {r.fdb_cluster_example}: an example; replace it with your FoundationDB cluster file"
            )
        o.line(f"wrote {path}: edit hosts, disks and paths, then: flyer fs3 render {path} --out rendered/")

    out.emit(r, render)


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
    min_targets: MinTargetsPerDiskOpt = 1,
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
    seed: PlacementSeedOpt = 0,
    out_dir: OutDirOpt = None,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Balanced chain table: every node pair shares chains as evenly as possible; writes admin_cli's files.

    Examples:
      flyer fs3 plan chains --nodes 5 --replication 3 --min-targets-per-disk 6 --disks 16 --out chains/
      flyer fs3 plan chains --nodes 25 --min-targets-per-disk 12 --json
      flyer fs3 plan chains --nodes 25 --min-targets-per-disk 12 --plot chains.png
      flyer fs3 plan chains cluster.yaml --out chains/
    """
    out = Output(json)
    plotting.check_plot(plot, [cluster])
    r = lib.plan_chains(
        cluster,
        nodes=nodes,
        replication=replication,
        min_targets_per_disk=min_targets,
        targets_per_disk=targets,
        disks=disks,
        node_id_begin=node_id_begin,
        target_prefix=target_prefix,
        chain_prefix=chain_prefix,
        new_chunk_engine=not classic,
        seed=seed,
        out_dir=out_dir,
    )
    out.emit(r, lambda o: view.plan(o, r))
    plotting.write(out, plot, fs3_plot.plot_chains, r)
    if r.note:
        out.warn(r.note)


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
    min_targets: MinTargetsPerDiskOpt = 1,
    seed: PlacementSeedOpt = 0,
    out_dir: OutDirOpt = None,
    json: JsonOpt = False,
) -> None:
    """Plan adding storage nodes: a balanced table that moves as few existing targets as it can.

    Examples:
      flyer fs3 plan add-nodes chains/generated_chains.csv --add 1 --out grow/
      flyer fs3 plan add-nodes chains/generated_chains.csv --add 2 --node-ids 10006,10007 --json
    """
    out = Output(json)
    r = lib.plan_add_nodes(
        chains_csv, add, node_ids=node_ids, min_targets_per_disk=min_targets, seed=seed, out_dir=out_dir
    )
    out.emit(r, lambda o: view.add_nodes(o, r))
    if r.note:
        out.warn(r.note)


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
    r = lib.render_to(cluster, out_dir)
    out.emit(r, lambda o: view.render(o, r))
    for w in r.warnings:
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
    known_hosts: KnownHostsOpt = DEFAULT_KH,
    accept_new: AcceptNewHostKeysOpt = False,
    timeout: SshTimeoutOpt = 10.0,
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

    if cluster is None:
        results = checks.local_checks(checks.want_here(roles, disk or ()))
    else:  # NOTE: exactly one of the two, checked above
        results = checks.remote_checks(lib.load(cluster), _ssh(known_hosts, accept_new, timeout))
    r = checks.summarize(results)
    out.emit(r, lambda o: view.preflight(o, r))
    if r.counts.fail or (strict and r.counts.warn):
        raise CheckFailed(f"{r.counts.fail} checks failed, {r.counts.warn} warned")


@app.command()
def deploy(
    cluster: ClusterArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compare and print the plan; change nothing.")
    ] = False,
    known_hosts: KnownHostsOpt = DEFAULT_KH,
    accept_new: AcceptNewHostKeysOpt = False,
    timeout: SshTimeoutOpt = 10.0,
    parallel: SshParallelOpt = 32,
    json: JsonOpt = False,
) -> None:
    """Deploy over SSH in the guide's order, --parallel hosts at once; idempotent and resumable.

    Files are compared by checksum and each admin_cli step is recorded on its host, so a second run changes
    nothing and a failed run resumes where it stopped. A host that fails is named with its step and error
    and the others go on (exit 1 at the end); the dry run lists the hosts it cannot reach. The admin token
    is written with mode 0600, never printed.

    Examples:
      flyer fs3 deploy cluster.yaml --dry-run
      flyer fs3 deploy cluster.yaml --parallel 64
      flyer fs3 deploy cluster.yaml --accept-new-host-keys --json
    """
    out = Output(json)
    bundle = lib.render(lib.load(cluster))
    with view.step_bars(out, "deploy") as bars:
        log = lib.deploy(
            bundle, ssh=_ssh(known_hosts, accept_new, timeout, parallel), dry_run=dry_run, progress=bars
        )
    r = log.report()
    out.emit(r, lambda o: view.action_report(o, r, "deploy"))
    log.check("deploy")


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
    known_hosts: KnownHostsOpt = DEFAULT_KH,
    accept_new: AcceptNewHostKeysOpt = False,
    timeout: SshTimeoutOpt = 10.0,
    junit: JunitOpt = None,
    json: JsonOpt = False,
) -> None:
    """Cluster health from admin_cli's list-nodes, list-targets and list-chains.

    Exit 1 when any target is not SERVING and UPTODATE, or any node or chain is down.

    Examples:
      flyer fs3 status cluster.yaml
      flyer fs3 status --from saved-listings/ --json
      flyer fs3 status cluster.yaml --junit fs3-status.xml
    """
    out = Output(json)
    if (cluster is None) == (from_dir is None):
        raise InputError("give a cluster description or --from DIR (not both)", field="CLUSTER")
    if from_dir is not None:
        h = lib.assess_saved(from_dir)
    elif cluster is not None:
        h = lib.assess_remote(lib.load(cluster), _ssh(known_hosts, accept_new, timeout))
    r = h.summary()
    out.emit(r, lambda o: view.status(o, r))
    write_junit(junit, "flyer fs3 status", h.checks())
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
    known_hosts: KnownHostsOpt = DEFAULT_KH,
    accept_new: AcceptNewHostKeysOpt = False,
    timeout: SshTimeoutOpt = 10.0,
    parallel: SshParallelOpt = 32,
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
    ssh = _ssh(known_hosts, accept_new, timeout, parallel)
    r = lib.teardown(lib.load(cluster), ssh=ssh, dry_run=dry_run, purge_data=purge_data).report()
    out.emit(r, lambda o: view.action_report(o, r, "teardown"))
