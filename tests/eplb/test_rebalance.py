"""DeepSeek parity of the deepseek policy against the Python reference (torch's tie order, float32 pack sums,
replica-order log2phy), on float loads and on integer token counts full of ties; the drop-in API; invariants
of every policy."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer import eplb
from fireflyer.errors import InputError

from . import reference as ref

README_WEIGHT = [
    [90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
    [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27],
]
README_PHY2LOG = [
    [5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
    [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1],
]


def test_readme_example():
    phy2log, log2phy, logcnt = eplb.rebalance_experts(torch.tensor(README_WEIGHT), 16, 4, 2, 8)
    assert phy2log.tolist() == README_PHY2LOG
    assert phy2log.dtype == log2phy.dtype == logcnt.dtype == torch.int64
    assert logcnt.sum(-1).tolist() == [16, 16]
    assert log2phy.shape == (2, 12, int(logcnt.max()))


def test_reference_reproduces_readme():
    p, _, _ = ref.rebalance(np.array(README_WEIGHT, dtype=np.float32), 16, 4, 2, 8)
    assert p.tolist() == README_PHY2LOG


@pytest.mark.parametrize("kind", ["list", "numpy", "torch"])
def test_accepts_lists_numpy_torch(kind):
    w = {
        "list": README_WEIGHT,
        "numpy": np.array(README_WEIGHT, dtype=np.int32),
        "torch": torch.tensor(README_WEIGHT, dtype=torch.float64),
    }[kind]
    phy2log, _, _ = eplb.rebalance_experts(w, 16, 4, 2, 8)
    assert isinstance(phy2log, torch.Tensor) and phy2log.tolist() == README_PHY2LOG


LAYOUTS = [  # (experts, replicas, groups, nodes, gpus)
    (12, 16, 4, 2, 8),
    (16, 24, 4, 2, 4),
    (32, 40, 8, 4, 8),
    (24, 32, 3, 2, 4),
    (16, 16, 4, 4, 8),
    (20, 30, 5, 1, 5),
    (64, 72, 8, 4, 8),
    (256, 288, 8, 4, 32),
    (256, 288, 8, 18, 144),
]


def assert_same(w, R, G, N, P):
    phy2log, log2phy, logcnt = eplb.rebalance_experts(w, R, G, N, P)
    want_p, want_l, want_c = ref.rebalance(w, R, G, N, P)
    assert phy2log.numpy().tolist() == want_p.tolist()
    assert log2phy.numpy().tolist() == want_l.tolist()
    assert logcnt.numpy().tolist() == want_c.tolist()


@pytest.mark.parametrize("kind", ["float", "int"])
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda l: "x".join(map(str, l)))
def test_parity_with_python_reference(layout, kind):
    E, R, G, N, P = layout
    rng = np.random.default_rng(E * 1000 + R)
    layers = 2 if E > 100 else 6
    if kind == "float":
        w = (rng.random((layers, E)) * 1000).astype(np.float32)
    else:  # token counts: ties everywhere
        w = rng.integers(0, 12, (layers, E)).astype(np.float32)
    assert_same(w, R, G, N, P)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 3),
    st.integers(0, 2**31),
    st.sampled_from([3, 40, 0]),
)
def test_parity_property(groups_per_node, nodes, extra_per_gpu, experts_per_group, seed, top):
    """Integer loads from 0..top (many ties; top 0: all equal) and floats (top 0 is all zeros, the dense rows
    of SGLang dumps)."""
    groups = groups_per_node * nodes
    E = groups * experts_per_group
    gpus = nodes * 2
    R = E + gpus * extra_per_gpu
    R += (-R) % gpus
    rng = np.random.default_rng(seed)
    w = rng.integers(0, top + 1, (3, E)).astype(np.float32)
    assert_same(w, R, groups, nodes, gpus)
    assert_same((rng.random((3, E)) * 100 + 1).astype(np.float32), R, groups, nodes, gpus)


def check_invariants(p, w, groups, nodes, gpus, hierarchical):
    L, E = w.shape
    R = p.slots
    assert p.phy2log.shape == (L, R) and p.logcnt.shape == (L, E)
    assert (p.logcnt >= 1).all(), "every expert placed at least once"
    assert (p.logcnt.sum(axis=1) == R).all(), "counts sum to the replicas"
    for l in range(L):
        assert (np.bincount(p.phy2log[l], minlength=E) == p.logcnt[l]).all()
        for e in range(E):
            slots = [int(s) for s in p.log2phy[l, e] if s >= 0]
            assert len(slots) == p.logcnt[l, e] and len(set(slots)) == len(slots)
            if p.meta["policy"] == "balanced":
                assert slots == sorted(slots)
            assert all(p.phy2log[l, s] == e for s in slots), "log2phy is the inverse of phy2log"
        assert (p.log2phy[l][p.log2phy[l] < 0] == -1).all()
        if hierarchical:
            per_node = R // nodes
            gs = E // groups
            node_of = {}
            for s in range(R):
                g = int(p.phy2log[l, s]) // gs
                assert node_of.setdefault(g, s // per_node) == s // per_node, "group split over nodes"
    assert p.log2phy.shape[2] == int(p.logcnt.max())


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["deepseek", "balanced"]),
    st.booleans(),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(0, 2**31),
)
def test_invariants_every_policy(policy, hierarchical, gpn, nodes, epg, extra, seed):
    groups = nodes * 2
    E = groups * epg
    gpus = nodes * gpn
    R = E + extra * gpus
    R += (-R) % gpus
    rng = np.random.default_rng(seed)
    w = np.round(rng.pareto(1.2, (3, E)) * 10).astype(np.float32)  # ties and zeros included
    p = eplb.plan(w, R, groups, nodes, gpus, policy=policy, hierarchical=hierarchical)
    check_invariants(p, w, groups, nodes, gpus, hierarchical or policy == "deepseek")


def test_equal_loads_in_torchs_order():
    """eplb.py sorts with torch's unstable sort; ties come out in torch's order, not index order."""
    w = np.ones((1, 64), dtype=np.float32)
    p = eplb.plan(w, 64, 1, 1, 4, policy="deepseek")
    assert p.phy2log.tolist() == ref.rebalance(w, 64, 1, 1, 4)[0].tolist()


def test_log2phy_in_replica_order():
    """A hot expert's replicas: the original slot first, then each redundant one in the order it was made."""
    w = np.array([[100, 1, 1, 1, 1, 1, 1, 1]], dtype=np.float32)
    p = eplb.plan(w, 16, 1, 1, 4, policy="deepseek")
    slots = [int(s) for s in p.log2phy[0, 0] if s >= 0]
    assert len(slots) == 9 and slots == ref.rebalance(w, 16, 1, 1, 4)[1][0, 0].tolist()


@pytest.mark.parametrize(
    "args, field",
    [
        ((16, 4, 2, 0), "gpus"),
        ((10, 4, 2, 8), "slots"),
        ((18, 4, 2, 8), "slots"),
        ((16, 4, 3, 9), "slots"),
        ((16, 4, 3, 8), "gpus"),
        ((16, 5, 1, 8), "groups"),
    ],
)
def test_bad_layouts(args, field):
    with pytest.raises(InputError) as e:
        eplb.rebalance_experts(README_WEIGHT, *args)
    assert e.value.field == field


@pytest.mark.parametrize(
    "weight", [[[1.0, float("nan")]], [[1.0, float("inf")]], [[1.0, -1.0]], [1.0, 2.0], [[[1.0, 2.0]]], [[]]]
)
def test_bad_loads(weight):
    with pytest.raises(InputError):
        eplb.rebalance_experts(weight, 2, 1, 1, 1)
