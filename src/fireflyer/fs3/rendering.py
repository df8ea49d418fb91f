"""Every file a 3FS cluster needs, per host: TOML configs of each service, systemd units, the chain table
files and the ordered admin_cli script, from a cluster description validated first.

TOML is written with tomli-w from plain mappings (never by string formatting). Each file holds only the
keys the guide edits: 3FS applies a file as an update over its built-in defaults, and refuses a key it
does not know, so every key written here exists in 3FS's own default dump of that file.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import tomli_w

from ..io import LIMITS, atomic_dir, check_outputs, read_bytes
from ..systemd import systemd_word
from . import chains as chain_files
from . import placement
from .reports import RenderReport
from .services import SERVICES, START_ORDER, TOKEN_FILTER, Paths, Service, admin_cli, command, paths
from .spec import Cluster, Node, load, remote
from .validation import chain_table, validate

DEFAULT_LOG_DIR = "/var/log/3fs"


@dataclass
class File:
    path: str
    """Absolute path on the host (under the node's root)."""
    data: bytes
    mode: int = 0o644


@dataclass
class Bundle:
    """What render produces: files per node name, the chain table, the admin_cli script."""

    cluster: Cluster
    files: dict[str, list[File]]
    chains: list[chain_files.Chain]
    layout: placement.Placement
    script: str
    admin_node: str
    """The node admin_cli runs on during deploy (the first mgmtd node)."""
    warnings: list[str] = field(default_factory=list)

    def paths(self, node: Node) -> Paths:
        return paths(self.cluster, node)


# ---- TOML -------------------------------------------------------------------------------------------------


def _toml(doc: dict) -> bytes:
    return tomli_w.dumps(doc).encode()


def _logs(c: Cluster, node: Node, svc: Service) -> dict:
    """Log handlers with the files moved, only when the log directory is not 3FS's default."""
    logs = remote(node, c.log_dir)
    if logs == DEFAULT_LOG_DIR:
        return {}
    suffix = {"normal": "", "err": "-err", "fatal": "-fatal", "event": "-event"}
    return {
        "log": {
            "handlers": [{"name": h, "file_path": f"{logs}/{svc.logs}{suffix[h]}.log"} for h in svc.handlers]
        }
    }


def _common(c: Cluster, node: Node, svc: Service) -> dict:
    common: dict = _logs(c, node, svc)
    mon = c.monitor_address()
    if mon:
        common["monitor"] = {
            "reporters": [{"type": "monitor_collector", "monitor_collector": {"remote_ip": mon}}]
        }
    return common


def _groups(c: Cluster, role: str, service: str) -> list[dict]:
    p = getattr(c.ports, role)
    return [
        {"network_type": "RDMA", "services": [service], "listener": {"listen_port": p.rdma}},
        {"network_type": "TCP", "services": ["Core"], "listener": {"listen_port": p.tcp}},
    ]


def _launcher(c: Cluster, node: Node, *, fdb: bool) -> dict:
    doc: dict = {"cluster_id": c.cluster_id}
    if fdb:
        doc["fdb"] = {"clusterFile": paths(c, node).fdb}
    else:
        doc["mgmtd_client"] = {"mgmtd_server_addresses": c.mgmtd_addresses()}
    if node.ib_devices:
        doc["ib_devices"] = {"device_filter": list(node.ib_devices)}
    return doc


def service_files(c: Cluster, node: Node, role: str, node_id: int | None) -> dict[str, bytes]:
    """File name -> TOML of one service on one node."""
    svc = SERVICES[role]
    out: dict[str, bytes] = {}
    if role == "monitor":
        ch = c.monitor.clickhouse if c.monitor else None
        doc: dict = {
            "server": {
                "base": {
                    "groups": [
                        {
                            "network_type": "TCP",
                            "services": ["MonitorCollector"],
                            "listener": {"listen_port": c.ports.monitor},
                        }
                    ]
                },
            }
        }
        if ch is not None:
            pw = (
                read_bytes(ch.password_file, what="password file", limit=LIMITS["password"]).decode().strip()
                if ch.password_file
                else ""
            )
            doc["server"]["monitor_collector"] = {
                "reporter": {
                    "type": "clickhouse",
                    "clickhouse": {
                        "db": ch.db,
                        "host": ch.host,
                        "passwd": pw,
                        "port": str(ch.port),
                        "user": ch.user,
                    },
                }
            }
        logs = _logs(c, node, svc)
        if logs:
            doc["common"] = logs
        out[f"{svc.binary}.toml"] = _toml(doc)
        return out
    if role == "fuse":
        launcher = _launcher(c, node, fdb=False)
        launcher.update(mountpoint=remote(node, c.fuse.mountpoint), token_file=paths(c, node).token)
        out["hf3fs_fuse_main_launcher.toml"] = _toml(launcher)
        out["hf3fs_fuse_main.toml"] = _toml(
            {"common": _common(c, node, svc), "mgmtd": {"mgmtd_server_addresses": c.mgmtd_addresses()}}
        )
        out["hf3fs_fuse_main_app.toml"] = b""
        return out
    out[f"{svc.binary}_launcher.toml"] = _toml(_launcher(c, node, fdb=role == "mgmtd"))
    out[f"{svc.binary}_app.toml"] = _toml({"node_id": node_id})
    server: dict = {}
    if role == "mgmtd":
        server["base"] = {"groups": _groups(c, "mgmtd", "Mgmtd")}
    elif role == "meta":
        server["base"] = {"groups": _groups(c, "meta", "MetaSerde")}
        server["mgmtd_client"] = {"mgmtd_server_addresses": c.mgmtd_addresses()}
        server["fdb"] = {"clusterFile": paths(c, node).fdb}
    elif role == "storage":
        server["base"] = {"groups": _groups(c, "storage", "StorageSerde")}
        server["mgmtd"] = {"mgmtd_server_addresses": c.mgmtd_addresses()}
        server["targets"] = {"target_paths": [f"{remote(node, d.path)}/3fs" for d in c.disks_of(node)]}
    out[f"{svc.binary}.toml"] = _toml({"common": _common(c, node, svc), "server": server})
    return out


def admin_cli_toml(c: Cluster, node: Node) -> bytes:
    logs = remote(node, c.log_dir)
    return _toml(
        {
            "cluster_id": c.cluster_id,
            "log": f"DBG:normal; normal=file:path={logs}/cli.log,async=true,sync_level=ERR",
            "fdb": {"clusterFile": paths(c, node).fdb},
            "mgmtd_client": {"mgmtd_server_addresses": c.mgmtd_addresses()},
        }
    )


# ---- units, SQL, script ---------------------------------------------------------------------------------


def unit(c: Cluster, node: Node, role: str) -> bytes:
    """The systemd unit of a service, as 3FS ships it (limits included)."""
    service = {}
    if role != "monitor":
        service["LimitNOFILE"] = "1000000"
    if role == "storage":
        service["LimitMEMLOCK"] = "infinity"
        service["TimeoutStopSec"] = "5m"
    service["ExecStart"] = " ".join(systemd_word(a) for a in command(c, node, role))
    service["Type"] = "simple"
    sections = {
        "Unit": {
            "Description": f"{SERVICES[role].unit.removeprefix('hf3fs_')} Server",
            "Requires": "network-online.target",
            "After": "network-online.target",
        },
        "Service": service,
        "Install": {"WantedBy": "multi-user.target"},
    }
    return "\n".join(
        f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in body.items()) for name, body in sections.items()
    ).encode()


MONITOR_COLUMNS = {
    "counters": ["`val` Int64"],
    "distributions": [
        "`count` Float64",
        "`mean` Float64",
        "`min` Float64",
        "`max` Float64",
        "`p50` Float64",
        "`p90` Float64",
        "`p95` Float64",
        "`p99` Float64",
    ],
}


def monitor_sql(db: str = "3fs") -> str:
    """The ClickHouse tables monitor_collector writes to (3FS's schema: counters and distributions)."""
    lc = "LowCardinality(String) CODEC(ZSTD(1))"
    out = [f"CREATE DATABASE IF NOT EXISTS {db};\n"]
    for table, own in MONITOR_COLUMNS.items():
        cols = [
            "`TIMESTAMP` DateTime CODEC(DoubleDelta)",
            f"`metricName` {lc}",
            f"`host` {lc}",
            f"`tag` {lc}",
        ]
        cols += [f"{c} CODEC(ZSTD(1))" for c in own]
        cols += [f"`mount_name` {lc}", "`instance` String CODEC(ZSTD(1))", f"`io` {lc}", f"`uid` {lc}"]
        if table == "distributions":
            cols.append(f"`method` {lc}")
        cols += ["`pod` String CODEC(ZSTD(1))", f"`thread` {lc}", f"`statusCode` {lc}"]
        out.append(
            f"CREATE TABLE IF NOT EXISTS {db}.{table} (\n  "
            + ",\n  ".join(cols)
            + "\n)\nENGINE = MergeTree\nPRIMARY KEY (metricName, host, pod, instance, TIMESTAMP)\n"
            "PARTITION BY toDate(TIMESTAMP)\nORDER BY (metricName, host, pod, instance, TIMESTAMP)\n"
            "TTL TIMESTAMP + toIntervalMonth(1)\nSETTINGS index_granularity = 8192;\n"
        )
    return "\n".join(out)


def admin_steps(c: Cluster, admin: Node) -> list[tuple[str, str]]:
    """(name, admin_cli command) in the guide's order, run on the admin node (token steps read it)."""
    p = paths(c, admin)
    s = c.storage
    steps = [
        (
            "init-cluster",
            f"init-cluster --mgmtd {p.etc}/mgmtd_main.toml {s.chain_table_id} {s.chunk_size} {s.stripe_size}",
        )
    ]
    steps.append(("set-config-meta", f"set-config --type META --file {p.etc}/meta_main.toml"))
    steps.append(("set-config-storage", f"set-config --type STORAGE --file {p.etc}/storage_main.toml"))
    steps.append(("user-add", "user-add --root --admin 0 root"))
    steps.append(("create-targets", f"< {shlex.quote(p.chains + '/create_target_cmd.txt')}"))
    steps.append(("upload-chains", f"upload-chains {p.chains}/generated_chains.csv"))
    steps.append(
        (
            "upload-chain-table",
            f"upload-chain-table --desc {c.cluster_id} {s.chain_table_id} "
            f"{p.chains}/generated_chain_table.csv",
        )
    )
    if c.with_role("fuse"):
        steps.append(("set-config-fuse", f"set-config --type FUSE --file {p.etc}/hf3fs_fuse_main.toml"))
    return steps


def _comment(text: str) -> str:
    """A shell comment line; text that is not printable on one line (a newline would end the comment and
    start a command) is shown escaped."""
    return "# " + (text if text.isprintable() else ascii(text))


def script(c: Cluster, admin: Node) -> str:
    """A shell script of the whole initialisation in the guide's order, for reading or running by hand.
    Every value from the description is quoted (``shlex.quote``) or, in a comment, kept on its line."""
    p = paths(c, admin)
    cli, with_token = admin_cli(c, admin), admin_cli(c, admin, token=True)
    lines = [
        "#!/bin/sh",
        _comment(
            f"3FS cluster {c.cluster_id}: initialisation in the deployment guide's order "
            "(generated by flyer fs3 render)."
        ),
        _comment(
            f"Run on {admin.name} ({admin.host}); start each service where the comments say, when they say."
        ),
        "set -eu",
    ]
    mons = c.with_role("monitor")
    if c.monitor and c.monitor.create_tables and mons:
        sql = shlex.quote(f"{paths(c, mons[0]).etc}/3fs-monitor.sql")
        lines.append(_comment(f"1. on {mons[0].name}: clickhouse-client -n < {sql}"))
        lines.append(_comment(f"2. on {mons[0].name}: start monitor_collector_main"))
    names = lambda role: ", ".join(n.name for n in c.with_role(role))  # noqa: E731
    for name, cmd in admin_steps(c, admin):
        if name == "set-config-meta":
            lines.append(_comment(f"start mgmtd_main on: {names('mgmtd')}"))
        if name == "set-config-storage":
            lines.append(_comment(f"start meta_main on: {names('meta')}"))
        if name == "user-add":
            lines.append(_comment(f"start storage_main on: {names('storage')}"))
            lines.append(_comment(f"the admin token is written to {p.token} (mode 0600), never printed"))
            lines.append(f"(umask 077; {cli} {shlex.quote(cmd)} | {TOKEN_FILTER} > {shlex.quote(p.token)})")
            continue
        if name == "create-targets":
            lines.append(f"{with_token} {cmd}")
            continue
        lines.append(f"{with_token if name.startswith('upload') else cli} {shlex.quote(cmd)}")
    if c.with_role("fuse"):
        lines.append(_comment(f"copy the token file to, then start hf3fs_fuse_main on: {names('fuse')}"))
    return "\n".join(lines) + "\n"


# ---- the bundle -------------------------------------------------------------------------------------------


def render(c: Cluster, *, check_local_files: bool = True) -> Bundle:
    """Validate, plan the chains and build every file of every node."""
    layout = validate(c, check_local_files=check_local_files)
    ids = c.node_ids()
    chains = chain_table(c, layout)
    admin = c.with_role("mgmtd")[0]
    files: dict[str, list[File]] = {}
    for n in c.nodes:
        p = paths(c, n)
        fl = [File(p.admin_cfg, admin_cli_toml(c, n))]
        for role in START_ORDER:
            if role not in n.roles:
                continue
            for name, data in service_files(c, n, role, ids.get((n.name, role))).items():
                secret = (
                    role == "monitor"
                    and b"passwd" in data
                    and c.monitor
                    and c.monitor.clickhouse.password_file
                )
                fl.append(File(f"{p.etc}/{name}", data, 0o600 if secret else 0o644))
            if c.service_manager == "systemd":
                fl.append(File(f"{p.units}/{SERVICES[role].unit}.service", unit(c, n, role)))
        if "monitor" in n.roles and c.monitor:
            fl.append(File(f"{p.etc}/3fs-monitor.sql", monitor_sql(c.monitor.clickhouse.db).encode()))
            if (
                c.monitor.clickhouse.password_file
            ):  # for clickhouse-client during deploy, never on a command line
                pw = (
                    read_bytes(
                        c.monitor.clickhouse.password_file, what="password file", limit=LIMITS["password"]
                    ).strip()
                    + b"\n"
                )
                fl.append(File(f"{p.etc}/clickhouse.password", pw, 0o600))
        if n is admin:
            for name, text in chain_files.format_chains(chains).items():
                fl.append(File(f"{p.chains}/{name}", text.encode()))
            fl.append(File(f"{p.etc}/admin_cli_init.sh", script(c, n).encode(), 0o755))
        files[n.name] = sorted(fl, key=lambda f: f.path)
    warnings = [layout.shape.note] if layout.shape.note else []
    if not layout.balanced:
        warnings.append(
            f"pair counts of the chain layout are not balanced ({layout.excess} units outside [lo, hi])"
        )
    return Bundle(c, files, chains, layout, script(c, admin), admin.name, warnings)


def write(
    bundle: Bundle, out_dir: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()
) -> list[str]:
    """Write the bundle under ``out_dir``, one directory per node mirroring its paths, whole or not at all
    (``io.atomic_dir``); none may replace one of ``inputs``. Returns the paths written."""
    base = Path(out_dir)
    rel = [
        (Path(node) / PurePosixPath(f.path).relative_to("/"), f)
        for node, fl in bundle.files.items()
        for f in fl
    ]
    check_outputs([base / r for r, _ in rel], inputs)
    with atomic_dir(base) as tmp:
        for r, f in rel:
            dest = tmp / r
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.data)
            dest.chmod(f.mode)
    return [str(base / r) for r, _ in rel]


def render_to(cluster: str | os.PathLike, out_dir: str | os.PathLike) -> RenderReport:
    """Load the description in ``cluster``, render it and write every node's files under ``out_dir``.

    Example: ``render_to("cluster.yaml", "rendered")``
    """
    c = load(cluster)
    b = render(c)
    inputs = [cluster, c.foundationdb.cluster_file]
    if c.monitor and c.monitor.clickhouse.password_file:
        inputs.append(c.monitor.clickhouse.password_file)
    written = write(b, out_dir, inputs=inputs)
    return RenderReport(
        cluster_id=c.cluster_id,
        admin_node=b.admin_node,
        layout=b.layout.summary(),
        files={n: [f.path for f in fl] for n, fl in b.files.items()},
        written=len(written),
        out=str(out_dir),
        warnings=b.warnings,
    )
