"""The commented example cluster description `flyer fs3 init` writes: the deployment guide's six nodes."""

from __future__ import annotations

from ..errors import InputError
from .placement import shape

EXAMPLE = """\
# A 3FS cluster for `flyer fs3` (plan, render, preflight, deploy, status, teardown).
# The layout of 3FS's deployment guide: one meta node (mgmtd, meta, monitor, FUSE client, FoundationDB and
# ClickHouse) and five storage nodes with 16 NVMe SSDs each. Every key is checked; unknown keys are errors.
cluster_id: {cluster_id}

# Where the 3FS binaries come from: a directory on this machine (3FS's build/bin) holding admin_cli,
# mgmtd_main, meta_main, storage_main, monitor_collector_main and hf3fs_fuse_main. Relative paths are
# relative to this file.
release:
  bin_dir: ./3fs/build/bin

# FoundationDB's cluster file (from /etc/foundationdb/fdb.cluster on a FoundationDB host). The FoundationDB
# client library on the hosts must match the server's version.
foundationdb:
  cluster_file: ./fdb.cluster

# Metrics: monitor_collector writes to ClickHouse. The password stays in a file, never in this YAML.
monitor:
  clickhouse:
    host: 192.168.1.1
    port: 9000
    user: default
    # password_file: ./clickhouse.password
    db: 3fs
  create_tables: true        # run the monitoring SQL with clickhouse-client during deploy

fuse:
  mountpoint: /3fs/{cluster_id}

storage:
  # Mount points of the XFS file systems (mkfs.xfs, mounted with noatime) on every storage node.
  disks:
{disks}
  replication: {replication}
  min_targets_per_disk: 6    # r: the smallest value >= this with v*r divisible by 3 and 2r >= v-1
  chunk_size: 1048576
  stripe_size: {stripe}            # must not exceed the number of chains
  chain_table_id: 1
  target_prefix: 1
  chain_prefix: 9

# Listening ports. Storage defaults differ from mgmtd's (the guide's 8000/9000 would collide when
# storage shares a host with mgmtd).
ports:
  mgmtd: {{rdma: 8000, tcp: 9000}}
  meta: {{rdma: 8001, tcp: 9001}}
  storage: {{rdma: 8002, tcp: 9002}}
  monitor: 10000

# How flyer reaches the hosts: keys or the SSH agent, never passwords. Host keys must be in
# ~/.ssh/known_hosts (or pass --accept-new-host-keys once).
ssh:
  user: root
  port: 22
  # key: ~/.ssh/id_ed25519

service_manager: systemd     # or pidfile, for hosts without systemd (containers)

# Node ids follow the guide unless given (mgmtd_id, meta_id, storage_id): mgmtd 1, meta 100, storage
# 10001 onwards, in the order listed. address: the RDMA NIC's address services use (default: host).
nodes:
  - name: meta
    host: 192.168.1.1
    roles: [mgmtd, meta, monitor, fuse, fdb]
    ib_devices: [mlx5_0]
{storage_nodes}
"""


def example_fdb_cluster(cluster_id: str = "stage") -> str:
    """An example FoundationDB cluster file for the example description: the guide's meta node, where
    FoundationDB runs. A placeholder to replace with the real /etc/foundationdb/fdb.cluster."""
    return (
        "# Written by `flyer fs3 init` for the example cluster: replace it with\n"
        "# /etc/foundationdb/fdb.cluster from a FoundationDB host of your cluster.\n"
        f"{cluster_id}:example@192.168.1.1:4500\n"
    )


def example_yaml(cluster_id: str = "stage", storage_nodes: int = 5, disks: int = 16) -> str:
    """The example description, with the guide's numbers unless told otherwise."""
    if not (1 <= storage_nodes <= 4000 and 1 <= disks <= 999):
        raise InputError(
            f"storage nodes must be 1..4000 and disks 1..999, got {storage_nodes} and {disks}",
            field="storage-nodes",
        )
    disk_lines = "\n".join(
        f"    - {{path: /storage/data{i}, device: /dev/nvme{i}n1}}" for i in range(1, disks + 1)
    )
    nodes = "\n".join(
        f"  - name: storage{i}\n    host: 192.168.1.{i + 1}\n    roles: [storage]\n    ib_devices: [mlx5_0]"
        for i in range(1, storage_nodes + 1)
    )
    k = min(3, max(2, storage_nodes))
    stripe = min(16, shape(max(storage_nodes, k), k, 6).chains_per_disk * disks)
    return EXAMPLE.format(
        cluster_id=cluster_id, disks=disk_lines, storage_nodes=nodes, stripe=stripe, replication=k
    )
