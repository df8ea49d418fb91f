"""The figures DeepSeek published for 3FS and Smallpond, and their share per node, so a result on one host
(or one Ray cluster) can be set beside them.

Source: the 3FS README, "Performance" (https://github.com/deepseek-ai/3FS#performance).

- Peak throughput: a read stress test on 180 storage nodes (2x200 Gbps InfiniBand, 16x14 TiB NVMe each)
  from about 500+ client nodes (1x200 Gbps InfiniBand each) reached about 6.6 TiB/s aggregate, with
  background traffic from training jobs. Per client: 6.6 TiB/s / 500 = 13.5 GiB/s at most (500+ clients);
  per storage node: 6.6 TiB/s / 180 = 37.5 GiB/s.
- GraySort with Smallpond: 110.5 TiB over 8,192 partitions in 30 min 14 s (3.66 TiB/min) on 25 storage
  nodes and 50 compute nodes (192 physical cores, 2.2 TiB RAM, 1x200 Gbps each). Per compute node:
  3.66 TiB/min / 50 = 1.25 GiB/s.

- KVCache: the read throughput of the KVCache clients of an inference service (1x400 Gbps NIC per client
  node) peaked at 40 GiB/s. The chart plots the clients' read throughput without saying how many there
  were; 40 GiB/s sits just under one node's 400 Gbps (46.6 GiB/s), and the figure is read as per client
  node here (as fireflyer's issue 26 reads it): an upper bound per client, not a measured average.

3FS publishes no write, small random I/O or metadata figure per node; those results carry no share.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .reports import PublishedReport

SOURCE = "https://github.com/deepseek-ai/3FS#performance"

READ_TIB_S = 6.6
READ_STORAGE_NODES = 180
READ_CLIENTS = 500

GRAYSORT_TIB = 110.5
GRAYSORT_SECONDS = 30 * 60 + 14
GRAYSORT_TIB_PER_MIN = 3.66
GRAYSORT_COMPUTE_NODES = 50
GRAYSORT_STORAGE_NODES = 25
GRAYSORT_PARTITIONS = 8192

KVCACHE_PEAK_GIB_S = 40.0
KVCACHE_NIC_GBPS = 400

READ_PER_CLIENT_GIB_S = READ_TIB_S * 1024 / READ_CLIENTS
READ_PER_STORAGE_NODE_GIB_S = READ_TIB_S * 1024 / READ_STORAGE_NODES
SORT_PER_COMPUTE_NODE_GIB_S = GRAYSORT_TIB_PER_MIN * 1024 / 60 / GRAYSORT_COMPUTE_NODES


@dataclass(frozen=True)
class Reference:
    """A published figure scaled to the nodes in front of us."""

    figure: str
    """What was published, in words."""
    per_node: float
    """The published figure's share per node, in ``unit``."""
    nodes: int
    """Nodes this run used (clients for I/O, Ray nodes for the sort)."""
    unit: str
    source: str = SOURCE

    @property
    def scaled(self) -> float:
        return self.per_node * self.nodes

    def share(self, measured: float) -> float:
        """measured / the published figure scaled to ``nodes``."""
        return measured / self.scaled

    def report(self) -> PublishedReport:
        return PublishedReport(**asdict(self), scaled=self.scaled)


def io_reference(pattern: str) -> Reference | None:
    """The published per-client read throughput for large sequential reads (this host being one client);
    None for other patterns."""
    if pattern != "seq-read":
        return None
    return Reference(
        figure=f"3FS peak read {READ_TIB_S} TiB/s from about {READ_CLIENTS}+ clients on {READ_STORAGE_NODES} "
        f"storage nodes ({READ_PER_STORAGE_NODE_GIB_S:.1f} GiB/s per storage node)",
        per_node=READ_PER_CLIENT_GIB_S,
        nodes=1,
        unit="GiB/s per client",
    )


def io_cluster_references(pattern: str, *, clients: int, storage_nodes: int | None) -> list[Reference]:
    """For sequential reads on ``clients`` client nodes at once: the published aggregate per storage node
    times ``storage_nodes`` (when known: that is what bounds a cluster's aggregate), and per client node
    times ``clients``. None for other patterns."""
    if pattern != "seq-read":
        return []
    figure = (
        f"3FS peak read {READ_TIB_S} TiB/s on {READ_STORAGE_NODES} storage nodes from about "
        f"{READ_CLIENTS}+ clients"
    )
    out = []
    if storage_nodes is not None:
        out.append(Reference(figure, READ_PER_STORAGE_NODE_GIB_S, storage_nodes, "GiB/s per storage node"))
    out.append(Reference(figure, READ_PER_CLIENT_GIB_S, clients, "GiB/s per client"))
    return out


def kvcache_reference(*, nodes: int = 1) -> Reference:
    """The published KVCache peak read throughput per client node, for ``nodes`` client nodes."""
    return Reference(
        figure=f"3FS KVCache peak read {KVCACHE_PEAK_GIB_S:g} GiB/s (client nodes with 1x{KVCACHE_NIC_GBPS} "
        "Gbps NIC)",
        per_node=KVCACHE_PEAK_GIB_S,
        nodes=nodes,
        unit="GiB/s per client node",
    )


def sort_reference(*, nodes: int = 1) -> Reference:
    """The published GraySort rate per compute node, for ``nodes`` Ray nodes."""
    return Reference(
        figure=f"Smallpond GraySort {GRAYSORT_TIB} TiB in 30 min 14 s ({GRAYSORT_TIB_PER_MIN} TiB/min) on "
        f"{GRAYSORT_COMPUTE_NODES} compute and {GRAYSORT_STORAGE_NODES} storage nodes",
        per_node=SORT_PER_COMPUTE_NODE_GIB_S,
        nodes=nodes,
        unit="GiB/s per compute node",
    )
