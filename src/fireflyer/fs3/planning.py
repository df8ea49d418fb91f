"""``plan chains`` and ``plan add-nodes`` as library calls: the placement, the chain table, admin_cli's files
when asked for, and the report their commands print."""

from __future__ import annotations

import os

import msgspec

from ..errors import InputError
from . import chains as chain_files
from . import placement, validation
from .reports import AddNodesReport, FirstChain, PlanReport
from .spec import load


def plan_chains(
    cluster: str | os.PathLike | None = None,
    *,
    nodes: int | None = None,
    replication: int = 3,
    min_targets_per_disk: int = 1,
    targets_per_disk: int | None = None,
    disks: int = 1,
    node_id_begin: int = 10001,
    target_prefix: int = 1,
    chain_prefix: int = 9,
    new_chunk_engine: bool = True,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
) -> PlanReport:
    """A balanced chain table for ``nodes`` storage nodes (or a cluster description's), with admin_cli's
    files written into ``out_dir`` when given.

    Example: ``plan_chains(nodes=5, min_targets_per_disk=6, disks=16, out_dir="chains")``
    """
    if cluster is not None:
        c = load(cluster)
        p = validation.chain_layout(c)
        chains = validation.chain_table(c, p)
        disks = len(c.disks_of(c.with_role("storage")[0]))
    else:
        if nodes is None:
            raise InputError("give --nodes V or a cluster description", field="--nodes")
        p = placement.place(
            nodes,
            replication,
            min_targets_per_disk,
            targets_per_disk=targets_per_disk,
            seed=seed,
            disks=disks,
            files=out_dir is not None,
        )
        ids = list(range(node_id_begin, node_id_begin + nodes))
        chains = chain_files.build(
            p.blocks, ids, disks, target_prefix=target_prefix, chain_prefix=chain_prefix
        )
    written = []
    if out_dir is not None:
        written = chain_files.write(
            chain_files.format_chains(chains, new_chunk_engine=new_chunk_engine), out_dir
        )
    return PlanReport(
        **msgspec.structs.asdict(p.summary()),
        disks=disks,
        chains=len(chains),
        targets=sum(len(ch.targets) for ch in chains),
        first_chain=FirstChain(chains[0].chain_id, [t.target_id for t in chains[0].targets]),
        written=written,
        blocks=p.blocks.tolist(),
    )


def new_node_ids(text: str | None, add: int, old: list[int]) -> list[int]:
    """The ids of ``add`` new nodes: ``text`` (comma-separated) when given, else the ids after ``old``'s."""
    if not text:
        return list(range(max(old) + 1, max(old) + 1 + add))
    try:
        ids = [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError(f"expected whole numbers, got {text!r}", field="--node-ids") from None
    if len(ids) != add:
        raise InputError(f"{len(ids)} ids for {add} nodes", field="--node-ids")
    return ids


def plan_add_nodes(
    chains_csv: str | os.PathLike,
    add: int,
    *,
    node_ids: str | None = None,
    min_targets_per_disk: int = 1,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
) -> AddNodesReport:
    """Extend the table in ``chains_csv`` (as ``plan_chains`` wrote it) by ``add`` storage nodes, moving as
    few existing targets as it can; the migration's files go into ``out_dir`` when given.

    Example: ``plan_add_nodes("chains/generated_chains.csv", 1, out_dir="grow")``
    """
    if add < 1:
        raise InputError(f"must be at least 1, got {add}", field="--add")
    old = chain_files.read(chains_csv)
    added = new_node_ids(node_ids, add, old.node_ids)
    all_ids = old.node_ids + added
    chain_files.check_ids(all_ids, old.disks, old.target_prefix, old.chain_prefix, 1)
    p = placement.extend(
        old.blocks, len(all_ids), min_targets_per_disk, seed=seed, disks=old.disks, files=out_dir is not None
    )
    m = chain_files.extend_table(old, p.blocks, all_ids)
    written = []
    if out_dir is not None:
        written = chain_files.write(chain_files.format_migration(m), out_dir, inputs=[chains_csv])
    return AddNodesReport(
        **msgspec.structs.asdict(p.summary()),
        disks=old.disks,
        new_node_ids=added,
        chains=len(m.chains),
        new_chains=len(m.new_chains),
        targets_created=len(m.created),
        targets_moved=len(m.swaps),
        written=written,
    )
