"""A cluster description checked before anything is rendered: one InputError naming the field for what 3FS
would fail on; and the chain layout and chain table of a cluster."""

from __future__ import annotations

import posixpath
from pathlib import Path

from ..errors import InputError
from . import chains as chain_files
from . import placement
from .spec import Cluster, check, host_key, source

# ---- validation -------------------------------------------------------------------------------------------


def chain_layout(c: Cluster) -> placement.Placement:
    """The chain layout of ``c``: its storage nodes placed with its storage settings."""
    s = c.storage
    storage = c.with_role("storage")
    return placement.place(
        len(storage),
        s.replication,
        s.min_targets_per_disk,
        targets_per_disk=s.targets_per_disk,
        seed=s.seed,
        disks=len(c.disks_of(storage[0])),
    )


def chain_table(c: Cluster, layout: placement.Placement) -> list[chain_files.Chain]:
    """The chains of ``layout`` on ``c``'s storage node ids and disks, with its target and chain prefixes."""
    ids = c.node_ids()
    storage = c.with_role("storage")
    return chain_files.build(
        layout.blocks,
        [ids[(n.name, "storage")] for n in storage],
        len(c.disks_of(storage[0])),
        target_prefix=c.storage.target_prefix,
        chain_prefix=c.storage.chain_prefix,
    )


def validate(c: Cluster, *, check_local_files: bool = True) -> placement.Placement:
    """Refuse a description 3FS would fail on, one InputError naming the field; returns the chain layout."""
    f = source(c)
    check(c, file=f)
    names: dict[str, int] = {}
    hosts: dict[tuple[str, str], int] = {}
    lower: dict[str, int] = {}
    for i, n in enumerate(c.nodes):
        if n.name.lower() in lower:
            raise InputError(
                f"node name {n.name!r} is used twice (names differ in more than case)",
                file=f,
                field=f"nodes[{i}].name",
            )
        names[n.name] = lower[n.name.lower()] = i
        key = (host_key(n.host), n.root)
        if key in hosts:
            raise InputError(
                f"host {n.host!r} is also node {c.nodes[hosts[key]].name!r}",
                file=f,
                field=f"nodes[{i}].host",
                hint="put every role of one host on one node",
            )
        hosts[key] = i
    seen: dict[int, tuple[str, str]] = {}
    for (name, role), nid in c.node_ids().items():
        if nid in seen:
            raise InputError(
                f"{role} node id {nid} of {name} is also the {seen[nid][1]} id of {seen[nid][0]}",
                file=f,
                field=f"nodes[{names[name]}].{role}_id",
            )
        seen[nid] = (name, role)
    for role in ("mgmtd", "meta"):
        if not c.with_role(role):
            raise InputError(
                f"no node has the role {role}", file=f, field="nodes", hint=f"add {role} to a node's roles"
            )
    if len(c.with_role("monitor")) > 1:
        raise InputError("more than one node has the role monitor", file=f, field="nodes")
    storage = c.with_role("storage")
    if len(storage) < 2:
        raise InputError(
            f"{len(storage)} storage node(s); 3FS replicates across at least two",
            file=f,
            field="nodes",
            hint="give the storage role to two or more nodes",
        )
    if len(storage) < c.storage.replication:
        raise InputError(
            f"{len(storage)} storage nodes cannot hold {c.storage.replication} replicas each",
            file=f,
            field="storage.replication",
        )
    disks = [[d.path for d in c.disks_of(n)] for n in storage]
    for n, paths in zip(storage[1:], disks[1:]):
        if paths != disks[0]:
            raise InputError(
                f"{n.name} mounts its disks at other paths than {storage[0].name}; "
                "3FS gives all storage nodes "
                "one storage_main.toml (set-config)",
                file=f,
                field=f"nodes[{names[n.name]}].disks",
            )
    for n in storage:
        own = "storage.disks" if n.disks is None else f"nodes[{names[n.name]}].disks"
        seen_paths: set[str] = set()
        seen_devices: set[str] = set()
        for j, d in enumerate(c.disks_of(n)):
            if posixpath.normpath(d.path) in seen_paths:
                raise InputError(f"disk path {d.path} is listed twice", file=f, field=f"{own}[{j}].path")
            if d.device is not None and posixpath.normpath(d.device) in seen_devices:
                raise InputError(f"device {d.device} is listed twice", file=f, field=f"{own}[{j}].device")
            seen_paths.add(posixpath.normpath(d.path))
            seen_devices.add(posixpath.normpath(d.device or ""))
    for n in c.nodes:
        used: dict[int, str] = {}
        for what, where, port in c.ports.of_roles(n.roles):
            _port(used, port, what, c, n, names, where)
    s = c.storage
    layout = chain_layout(c)
    total = layout.shape.chains_per_disk * len(disks[0])
    if s.stripe_size > total:
        raise InputError(
            f"stripe size {s.stripe_size} exceeds the {total} chains of the table "
            f"({layout.shape.chains_per_disk} per disk x {len(disks[0])} disks)",
            file=f,
            field="storage.stripe_size",
        )
    if check_local_files:
        fdb = Path(c.foundationdb.cluster_file)
        if not fdb.is_file():
            raise InputError(
                f"FoundationDB cluster file {fdb} not found",
                file=f,
                field="foundationdb.cluster_file",
                hint="copy /etc/foundationdb/fdb.cluster from a FoundationDB host",
            )
        pw = c.monitor.clickhouse.password_file if c.monitor else None
        if pw and not Path(pw).is_file():
            raise InputError(f"{pw} not found", file=f, field="monitor.clickhouse.password_file")
    return layout


def _port(used, port, what, c, n, names, field):
    if port in used:
        raise InputError(
            f"port {port} is both {used[port]} and {what} on {n.name}",
            file=source(c),
            field=field,
            hint="give the services on one host different ports",
        )
    used[port] = what
