"""3FS chain tables: target and chain ids, and the files admin_cli reads (`generated_chains.csv`,
`generated_chain_table.csv`, `create_target_cmd.txt`, `remove_target_cmd.txt`).

IDs, as the guide's generator makes them (node_id is the storage service's 3FS node id, disk 0-based, t the
target's 0-based index on its disk, group the 1-based chain number within one disk index)::

    target = ((target_prefix * 10**6 + node_id) * 10**3 + disk + 1) * 100 + t + 1
    chain  = (chain_prefix * 10**3 + disk + 1) * 10**5 + group

The t-th target of a node on a disk joins the t-th chain, in chain order, that contains that node.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_dir, check_outputs, read_bytes

MAX_PREFIX = 99
MAX_DISKS = 999
MAX_NODE_ID = 999_999
MAX_CHAIN_ID = 2**32 - 1  # admin_cli reads chain ids as uint32
FILES = (
    "generated_chains.csv",
    "generated_chain_table.csv",
    "create_target_cmd.txt",
    "remove_target_cmd.txt",
)


def target_id(target_prefix: int, node_id: int, disk: int, t: int) -> int:
    """The 3FS target id of node ``node_id``'s ``t``-th target (0-based) on disk ``disk`` (0-based)."""
    return ((target_prefix * 1_000_000 + node_id) * 1_000 + disk + 1) * 100 + t + 1


def chain_id(chain_prefix: int, disk: int, group: int) -> int:
    """The 3FS chain id of chain number ``group`` (1-based) of disk index ``disk`` (0-based)."""
    return (chain_prefix * 1_000 + disk + 1) * 100_000 + group


@dataclass(frozen=True)
class Target:
    target_id: int
    node_id: int
    disk: int
    chain_id: int


@dataclass(frozen=True)
class Chain:
    chain_id: int
    disk: int
    group: int
    targets: tuple[Target, ...]


def check_ids(node_ids: list[int], disks: int, target_prefix: int, chain_prefix: int, chains_per_disk: int):
    """Refuse what the id scheme cannot encode (the field named is the one at fault)."""
    if not 0 <= target_prefix <= MAX_PREFIX:
        raise InputError(f"must be 0..{MAX_PREFIX}, got {target_prefix}", field="target_prefix")
    if not 0 <= chain_prefix <= MAX_PREFIX:
        raise InputError(f"must be 0..{MAX_PREFIX}, got {chain_prefix}", field="chain_prefix")
    if not 1 <= disks <= MAX_DISKS:
        raise InputError(f"must be 1..{MAX_DISKS}, got {disks}", field="disks")
    if chain_id(chain_prefix, disks - 1, chains_per_disk) > MAX_CHAIN_ID:
        raise InputError(
            f"chain ids would exceed {MAX_CHAIN_ID} (admin_cli reads them as 32-bit)",
            field="chain_prefix",
            hint="use a chain prefix of 42 or less",
        )
    if len(set(node_ids)) != len(node_ids):
        raise InputError("storage node ids must be distinct", field="node_ids")
    for n in node_ids:
        if not 1 <= n <= MAX_NODE_ID:
            raise InputError(f"storage node ids must be 1..{MAX_NODE_ID}, got {n}", field="node_ids")


def build(
    blocks: np.ndarray,
    node_ids: list[int],
    disks: int,
    *,
    target_prefix: int = 1,
    chain_prefix: int = 9,
) -> list[Chain]:
    """Every chain of every disk index, in chain-id order, from one disk's incidence ``blocks`` (node
    indices into ``node_ids``, each row sorted)."""
    blocks = np.asarray(blocks)
    check_ids(node_ids, disks, target_prefix, chain_prefix, len(blocks))
    out = []
    for disk in range(disks):
        seen = [0] * len(node_ids)  # targets of each node handed out so far on this disk
        for g, row in enumerate(blocks.tolist(), start=1):
            cid = chain_id(chain_prefix, disk, g)
            ts = []
            for x in row:
                ts.append(
                    Target(target_id(target_prefix, node_ids[x], disk, seen[x]), node_ids[x], disk, cid)
                )
                seen[x] += 1
            out.append(Chain(cid, disk, g, tuple(ts)))
    return out


def format_chains(chains: list[Chain], *, new_chunk_engine: bool = True) -> dict[str, str]:
    """The four files, by name. ``new_chunk_engine``: create targets with ``--use-new-chunk-engine``, as
    the guide's generator does."""
    k = len(chains[0].targets)
    rows = io.StringIO()
    rows.write("ChainId," + ",".join(["TargetId"] * k) + "\n")
    for c in chains:
        rows.write(f"{c.chain_id}," + ",".join(str(t.target_id) for t in c.targets) + "\n")
    table = "ChainId\n" + "".join(f"{c.chain_id}\n" for c in chains)
    engine = " --use-new-chunk-engine" if new_chunk_engine else ""
    create = "".join(
        f"create-target --node-id {t.node_id} --disk-index {t.disk} --target-id {t.target_id} "
        f"--chain-id {c.chain_id}{engine}\n"
        for c in chains
        for t in c.targets
    )
    remove = "".join(
        f"offline-target --node-id {t.node_id} --target-id {t.target_id}\n"
        f"remove-target --node-id {t.node_id} --target-id {t.target_id}\n"
        for c in chains
        for t in c.targets
    )
    return dict(zip(FILES, (rows.getvalue(), table, create, remove)))


def write(
    files: dict[str, str], out_dir: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()
) -> list[str]:
    """Write the files into ``out_dir`` (created if missing), all of them or none (``io.atomic_dir``); returns
    the paths. None may replace one of the command's ``inputs``."""
    d = Path(out_dir)
    check_outputs([d / name for name in files], inputs)
    with atomic_dir(d) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)
    return [str(d / name) for name in files]


def decode_target(tid: int) -> tuple[int, int, int, int]:
    """(target_prefix, node_id, disk, t) of a target id."""
    t = tid % 100 - 1
    disk = tid // 100 % 1000 - 1
    node = tid // 100_000 % 1_000_000
    return tid // 100_000_000_000, node, disk, t


def decode_chain(cid: int) -> tuple[int, int, int]:
    """(chain_prefix, disk, group) of a chain id."""
    return cid // 100_000_000, cid // 100_000 % 1000 - 1, cid % 100_000


@dataclass
class Existing:
    """A chain table read back from ``generated_chains.csv``."""

    chains: list[Chain]
    node_ids: list[int]
    blocks: np.ndarray  # disk 0's incidence, node indices into node_ids
    disks: int
    target_prefix: int
    chain_prefix: int


def read(path: str | os.PathLike) -> Existing:
    """Read a ``generated_chains.csv``; refuses one whose disk indices do not share one incidence."""
    text = read_bytes(path, what="chains file").decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text))
    try:
        return _read_rows(reader, path)
    except csv.Error as e:  # a field over csv's size limit
        raise InputError(
            f"not a chains CSV: {e}; expected the header ChainId,TargetId,... and rows of whole numbers",
            file=str(path),
            field=f"line {reader.line_num}",
        ) from None


def _read_rows(reader, path: str | os.PathLike) -> Existing:
    header = next(reader)
    if not header or header[0] != "ChainId" or any(h != "TargetId" for h in header[1:]) or len(header) < 2:
        raise InputError("expected the header ChainId,TargetId,...", file=str(path), field="line 1")
    chains = []
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            ids = [int(x) for x in row]
        except ValueError:
            raise InputError("expected whole numbers", file=str(path), field=f"line {n}") from None
        if len(ids) != len(header):
            raise InputError(
                f"expected {len(header)} columns, got {len(ids)}", file=str(path), field=f"line {n}"
            )
        cp, disk, group = decode_chain(ids[0])
        ts = tuple(Target(t, decode_target(t)[1], decode_target(t)[2], ids[0]) for t in ids[1:])
        chains.append(Chain(ids[0], disk, group, ts))
    if not chains:
        raise InputError("no chains", file=str(path))
    node_ids = sorted({t.node_id for c in chains for t in c.targets})
    index = {n: i for i, n in enumerate(node_ids)}
    disks = sorted({c.disk for c in chains})
    per_disk = {d: sorted((c for c in chains if c.disk == d), key=lambda c: c.group) for d in disks}
    first = [tuple(sorted(index[t.node_id] for t in c.targets)) for c in per_disk[disks[0]]]
    for d in disks[1:]:
        if [tuple(sorted(index[t.node_id] for t in c.targets)) for c in per_disk[d]] != first:
            raise InputError(
                f"disk index {d} places its chains differently from disk index {disks[0]}",
                file=str(path),
                hint="add-nodes plans tables whose disk indices share one incidence, as plan chains writes",
            )
    if disks != list(range(len(disks))):
        raise InputError("disk indices must run 0, 1, 2, ... without gaps", file=str(path))
    return Existing(
        chains,
        node_ids,
        np.array(first, dtype=np.int32),
        len(disks),
        decode_target(chains[0].targets[0].target_id)[0],
        decode_chain(chains[0].chain_id)[0],
    )


@dataclass
class Migration:
    """What add-nodes changes: the full new table, new targets, and per-chain member swaps."""

    chains: list[Chain]
    created: list[Target]
    swaps: list[tuple[int, Target, Target]]  # (chain id, target leaving, target joining)
    new_chains: list[Chain]


def extend_table(old: Existing, blocks: np.ndarray, node_ids: list[int]) -> Migration:
    """The new chain table for ``blocks`` (the first chains are the old ones, in order), keeping the target
    id of every membership that stays; new memberships get each node's lowest unused target index."""
    used: dict[tuple[int, int], set[int]] = {}
    for c in old.chains:
        for t in c.targets:
            used.setdefault((t.node_id, t.disk), set()).add(decode_target(t.target_id)[3])
    old_by_key = {(c.disk, c.group): c for c in old.chains}
    chains: list[Chain] = []
    created: list[Target] = []
    swaps: list[tuple[int, Target, Target]] = []
    new_chains: list[Chain] = []
    for disk in range(old.disks):
        for g, row in enumerate(np.asarray(blocks).tolist(), start=1):
            cid = chain_id(old.chain_prefix, disk, g)
            prev = old_by_key.get((disk, g))
            keep = {t.node_id: t for t in prev.targets} if prev else {}
            ts = []
            for x in row:
                n = node_ids[x]
                if n in keep:
                    ts.append(keep[n])
                    continue
                free = used.setdefault((n, disk), set())
                slot = next(i for i in range(100) if i not in free)
                if slot > 98:
                    raise InputError(
                        f"node {n} would need more than 99 targets on disk {disk}", field="nodes"
                    )
                free.add(slot)
                tgt = Target(target_id(old.target_prefix, n, disk, slot), n, disk, cid)
                ts.append(tgt)
                created.append(tgt)
            ts.sort(key=lambda t: t.node_id)
            chain = Chain(cid, disk, g, tuple(ts))
            chains.append(chain)
            if prev is None:
                new_chains.append(chain)
            else:
                leaving = [t for t in prev.targets if t not in ts]
                joining = [t for t in ts if t not in prev.targets]
                swaps.extend((cid, a, b) for a, b in zip(leaving, joining))
    chains.sort(key=lambda c: c.chain_id)
    return Migration(chains, created, swaps, new_chains)


def format_migration(m: Migration, *, new_chunk_engine: bool = True) -> dict[str, str]:
    """add-nodes files: the full new table, the new chains alone, targets to create, and the swaps
    (add the joining target, wait for it to sync, then remove the leaving one)."""
    full = format_chains(m.chains, new_chunk_engine=new_chunk_engine)
    engine = " --use-new-chunk-engine" if new_chunk_engine else ""
    out = {
        "generated_chains.csv": full["generated_chains.csv"],
        "generated_chain_table.csv": full["generated_chain_table.csv"],
        "create_target_cmd.txt": "".join(
            f"create-target --node-id {t.node_id} --disk-index {t.disk} --target-id {t.target_id} "
            f"--chain-id {t.chain_id}{engine}\n"
            for t in m.created
        ),
        "new_chains.csv": format_chains(m.new_chains)["generated_chains.csv"] if m.new_chains else "",
        "migrate_cmd.txt": "".join(f"update-chain --mode add {c} {b.target_id}\n" for c, _, b in m.swaps)
        + "".join(
            f"update-chain --mode remove {c} {a.target_id}\nremove-target --node-id {a.node_id} "
            f"--target-id {a.target_id}\n"
            for c, a, _ in m.swaps
        ),
    }
    return {k: v for k, v in out.items() if v}
