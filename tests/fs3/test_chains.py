"""Chain ids, target ids and the four files, on the deployment guide's example."""

from __future__ import annotations

import numpy as np
import pytest

from fireflyer.errors import InputError
from fireflyer.fs3 import chains, place

from .reference import chain_id, chain_targets, target_id

GUIDE_IDS = list(range(10001, 10006))


def test_id_formulas():
    assert chains.target_id(1, 10001, 0, 0) == target_id(1, 10001, 0, 0) == 101000100101
    assert chains.chain_id(9, 0, 1) == chain_id(9, 0, 1) == 900100001
    assert chains.decode_target(101000400101) == (1, 10004, 0, 0)
    assert chains.decode_chain(901600010) == (9, 15, 10)


def test_guide_example_files():
    # the guide's first chain holds the first, second and fourth nodes
    blocks = np.array(
        [
            [0, 1, 3],
            [0, 1, 2],
            [0, 2, 4],
            [1, 2, 3],
            [0, 3, 4],
            [1, 3, 4],
            [0, 1, 4],
            [0, 2, 3],
            [1, 2, 4],
            [2, 3, 4],
        ],
        dtype=np.int32,
    )
    built = chains.build(blocks, GUIDE_IDS, 16, target_prefix=1, chain_prefix=9)
    assert len(built) == 160 and sum(len(c.targets) for c in built) == 480
    first = built[0]
    assert first.chain_id == 900100001
    assert [t.target_id for t in first.targets] == [101000100101, 101000200101, 101000400101]
    ref = chain_targets(blocks.tolist(), GUIDE_IDS, 16, 1, 9)
    assert [(c.chain_id, [t.target_id for t in c.targets]) for c in built] == ref
    files = chains.format_chains(built)
    lines = files["generated_chains.csv"].splitlines()
    assert lines[0] == "ChainId,TargetId,TargetId,TargetId"
    assert lines[1] == "900100001,101000100101,101000200101,101000400101"
    assert len(lines) == 161
    assert files["generated_chain_table.csv"].splitlines()[:2] == ["ChainId", "900100001"]
    create = files["create_target_cmd.txt"].splitlines()
    assert len(create) == 480
    assert create[0] == (
        "create-target --node-id 10001 --disk-index 0 --target-id 101000100101 --chain-id 900100001 "
        "--use-new-chunk-engine"
    )
    assert (
        chains.format_chains(built, new_chunk_engine=False)["create_target_cmd.txt"]
        .splitlines()[0]
        .endswith("--chain-id 900100001")
    )
    remove = files["remove_target_cmd.txt"].splitlines()
    assert remove[:2] == [
        "offline-target --node-id 10001 --target-id 101000100101",
        "remove-target --node-id 10001 --target-id 101000100101",
    ]
    # every node's targets on a disk are numbered 1..r, and each target is used once
    tids = [t.target_id for c in built for t in c.targets]
    assert len(set(tids)) == 480 and {t % 100 for t in tids} == set(range(1, 7))


def test_read_back_and_refuse_bad_files(tmp_path):
    p = place(5, 3, 6)
    built = chains.build(p.blocks, GUIDE_IDS, 4)
    chains.write(chains.format_chains(built), tmp_path)
    old = chains.read(tmp_path / "generated_chains.csv")
    assert old.node_ids == GUIDE_IDS and old.disks == 4 and np.array_equal(old.blocks, p.blocks)
    bad = tmp_path / "bad.csv"
    bad.write_text("Chain,TargetId\n1,2\n")
    with pytest.raises(InputError, match="header"):
        chains.read(bad)
    bad.write_text("ChainId,TargetId\n900100001,x\n")
    with pytest.raises(InputError, match="line 2"):
        chains.read(bad)


def test_id_limits():
    blocks = place(5, 3, 6).blocks
    with pytest.raises(InputError) as e:
        chains.build(blocks, GUIDE_IDS, 16, chain_prefix=50)
    assert e.value.field == "chain_prefix"
    with pytest.raises(InputError, match="distinct"):
        chains.build(blocks, [1, 1, 2, 3, 4], 1)
    with pytest.raises(InputError):
        chains.build(blocks, GUIDE_IDS, 1000)


def test_add_nodes_keeps_existing_target_ids(tmp_path):
    p = place(5, 3, 6)
    built = chains.build(p.blocks, GUIDE_IDS, 2)
    chains.write(chains.format_chains(built), tmp_path)
    old = chains.read(tmp_path / "generated_chains.csv")
    from fireflyer.fs3 import extend

    grown = extend(old.blocks, 6)
    m = chains.extend_table(old, grown.blocks, [*GUIDE_IDS, 10006])
    before = {(c.chain_id, t.node_id): t.target_id for c in built for t in c.targets}
    after = {(c.chain_id, t.node_id): t.target_id for c in m.chains for t in c.targets}
    kept = set(before) & set(after)
    assert all(before[k] == after[k] for k in kept)
    assert len(m.swaps) == grown.moved * 2  # per disk index
    tids = [t.target_id for c in m.chains for t in c.targets]
    assert len(tids) == len(set(tids))
    files = chains.format_migration(m)
    assert files["migrate_cmd.txt"].startswith("update-chain --mode add ")
