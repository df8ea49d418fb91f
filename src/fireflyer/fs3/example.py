"""The commented example cluster description `flyer fs3 init` writes: the deployment guide's six nodes.

The YAML is written by PyYAML (``yaml.safe_dump``), one top-level key at a time under a fixed comment; no
value is formatted into YAML text by hand."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..errors import InputError
from ..io import atomic_write
from .placement import shape
from .reports import InitReport
from .spec import require

HEADER = """\
# A 3FS cluster for `flyer fs3` (plan, render, preflight, deploy, status, teardown).
# The layout of 3FS's deployment guide: one meta node (mgmtd, meta, monitor, FUSE client, FoundationDB and
# ClickHouse) and five storage nodes with 16 NVMe SSDs each. Every key is checked; unknown keys are errors.
"""

COMMENTS = {
    "cluster_id": "",
    "release": """
# Where the 3FS binaries come from: a directory on this machine (3FS's build/bin) holding admin_cli,
# mgmtd_main, meta_main, storage_main, monitor_collector_main and hf3fs_fuse_main. Relative paths are
# relative to this file.
""",
    "foundationdb": """
# FoundationDB's cluster file (from /etc/foundationdb/fdb.cluster on a FoundationDB host). The FoundationDB
# client library on the hosts must match the server's version.
""",
    "monitor": """
# Metrics: monitor_collector writes to ClickHouse. The password stays in a file, never in this YAML
# (password_file: ./clickhouse.password). create_tables: run the monitoring SQL with clickhouse-client
# during deploy.
""",
    "fuse": "\n",
    "storage": """
# disks: mount points of the XFS file systems (mkfs.xfs, mounted with noatime) on every storage node.
# min_targets_per_disk: r is the smallest value >= this with v*r divisible by the replication and
# r*(replication-1) >= v-1. stripe_size must not exceed the number of chains.
""",
    "ports": """
# Listening ports. Storage defaults differ from mgmtd's (the guide's 8000/9000 would collide when
# storage shares a host with mgmtd).
""",
    "ssh": """
# How flyer reaches the hosts: keys or the SSH agent, never passwords (key: ~/.ssh/id_ed25519). Host keys
# must be in ~/.ssh/known_hosts (or pass --accept-new-host-keys once).
""",
    "service_manager": """
# systemd, or pidfile for hosts without systemd (containers).
""",
    "nodes": """
# Node ids follow the guide unless given (mgmtd_id, meta_id, storage_id): mgmtd 1, meta 100, storage
# 10001 onwards, in the order listed. address: the RDMA NIC's address services use (default: host).
""",
}


def example_fdb_cluster(cluster_id: str = "stage") -> str:
    """An example FoundationDB cluster file for the example description: the guide's meta node, where
    FoundationDB runs. A placeholder to replace with the real /etc/foundationdb/fdb.cluster."""
    require("id", cluster_id, field="--cluster-id")
    description = cluster_id.replace("-", "_")  # FoundationDB's description: letters, digits and _
    return (
        "# Written by `flyer fs3 init` for the example cluster: replace it with\n"
        "# /etc/foundationdb/fdb.cluster from a FoundationDB host of your cluster.\n"
        f"{description}:example@192.168.1.1:4500\n"
    )


def example(cluster_id: str = "stage", storage_nodes: int = 5, disks: int = 16) -> dict:
    """The example description as data, with the guide's numbers unless told otherwise."""
    require("id", cluster_id, field="--cluster-id")
    if not (1 <= storage_nodes <= 4000 and 1 <= disks <= 999):
        raise InputError(
            f"storage nodes must be 1..4000 and disks 1..999, got {storage_nodes} and {disks}",
            field="storage-nodes",
        )
    k = min(3, max(2, storage_nodes))
    stripe = min(16, shape(max(storage_nodes, k), k, 6).chains_per_disk * disks)
    nodes = [
        {"name": "meta", "host": "192.168.1.1", "roles": ["mgmtd", "meta", "monitor", "fuse", "fdb"],
         "ib_devices": ["mlx5_0"]},
    ] + [
        {"name": f"storage{i}", "host": f"192.168.1.{i + 1}", "roles": ["storage"], "ib_devices": ["mlx5_0"]}
        for i in range(1, storage_nodes + 1)
    ]  # fmt: skip
    return {
        "cluster_id": cluster_id,
        "release": {"bin_dir": "./3fs/build/bin"},
        "foundationdb": {"cluster_file": "./fdb.cluster"},
        "monitor": {
            "clickhouse": {"host": "192.168.1.1", "port": 9000, "user": "default", "db": "3fs"},
            "create_tables": True,
        },
        "fuse": {"mountpoint": f"/3fs/{cluster_id}"},
        "storage": {
            "disks": [
                {"path": f"/storage/data{i}", "device": f"/dev/nvme{i}n1"} for i in range(1, disks + 1)
            ],
            "replication": k,
            "min_targets_per_disk": 6,
            "chunk_size": 1048576,
            "stripe_size": stripe,
            "chain_table_id": 1,
            "target_prefix": 1,
            "chain_prefix": 9,
        },
        "ports": {
            "mgmtd": {"rdma": 8000, "tcp": 9000},
            "meta": {"rdma": 8001, "tcp": 9001},
            "storage": {"rdma": 8002, "tcp": 9002},
            "monitor": 10000,
        },
        "ssh": {"user": "root", "port": 22},
        "service_manager": "systemd",
        "nodes": nodes,
    }


def example_yaml(cluster_id: str = "stage", storage_nodes: int = 5, disks: int = 16) -> str:
    """The example description as commented YAML (``example``, dumped by PyYAML under fixed comments)."""
    doc = example(cluster_id, storage_nodes, disks)
    parts = [HEADER]
    for key, value in doc.items():
        parts.append(COMMENTS[key])
        flow = None if isinstance(value, (dict, list)) else False  # nested lists of scalars on one line
        parts.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=flow, width=110))
    return "".join(parts)


def write_example(
    path: str | os.PathLike,
    cluster_id: str = "stage",
    storage_nodes: int = 5,
    disks: int = 16,
    *,
    force=False,
) -> InitReport:
    """Write ``example_yaml`` to ``path`` (an existing file only with ``force``), and beside it, unless one is
    there, an example ``fdb.cluster``.

    Example: ``write_example("lab.yaml", "lab", storage_nodes=3, disks=4)``
    """
    if os.path.exists(path) and not force:
        raise InputError("already exists", file=str(path), hint="pass --force to replace it")
    text = example_yaml(cluster_id, storage_nodes, disks)
    fdb = Path(path).parent / "fdb.cluster"
    atomic_write(path, text)
    wrote_fdb = not fdb.exists()
    if wrote_fdb:
        atomic_write(fdb, example_fdb_cluster(cluster_id))
    return InitReport(
        written=str(path),
        cluster_id=cluster_id,
        storage_nodes=storage_nodes,
        disks=disks,
        fdb_cluster_example=str(fdb) if wrote_fdb else None,
    )
