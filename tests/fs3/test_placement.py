"""The placement search in the core against the pure-Python reference: invariants over many (v, k, r),
balance on the guide's example and the issue's node counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from fireflyer._core import fs3 as core
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer import fs3
from fireflyer.errors import InputError

from .reference import bounds, check_incidence, excess, pair_counts, targets_per_disk


@st.composite
def shapes(draw, ks=(2, 3)):
    k = draw(st.sampled_from(ks))
    v = draw(st.integers(k, 40))
    min_r = draw(st.integers(1, 12))
    return v, k, targets_per_disk(v, k, min_r)


@settings(max_examples=80, deadline=None)
@given(shapes(), st.integers(0, 3))
def test_balanced_for_pairs_and_triples(shape, seed):
    v, k, r = shape
    p = core.place(v, k, r, seed=seed)
    blocks = p.blocks.tolist()
    check_incidence(blocks, v, k, r)
    assert (p.lo, p.hi) == bounds(v, k, r)
    assert p.excess == excess(blocks, v, k, r) == 0  # every pair count within [floor, ceil] of the mean


@settings(max_examples=25, deadline=None)
@given(shapes(ks=(4, 5)))
def test_larger_chains_keep_the_invariants_and_report_their_excess(shape):
    v, k, r = shape
    p = core.place(v, k, r, max_steps=20000)
    check_incidence(p.blocks.tolist(), v, k, r)
    assert p.excess == excess(p.blocks.tolist(), v, k, r)


def test_deterministic_for_a_seed():
    a, b = core.place(16, 3, 9, seed=7), core.place(16, 3, 9, seed=7)
    assert np.array_equal(a.blocks, b.blocks)


def test_guide_example():
    p = fs3.place(5, 3, 6)
    assert p.shape.targets_per_disk == 6 and p.shape.chains_per_disk == 10
    assert p.pair_counts == {3: 10} and p.balanced
    assert p.peer_traffic() == (1.5, 1.5)  # the guide's model prints min/max peer traffic 1.5/1.5


@pytest.mark.parametrize("v", [6, 8, 10, 16])
def test_pair_counts_within_one(v):
    p = fs3.place(v, 3)
    counts = pair_counts(p.blocks.tolist(), v).values()
    assert max(counts) - min(counts) <= 1 and p.balanced


def test_steiner_triple_system_on_25_nodes():
    p = fs3.place(25, 3, 12)
    assert p.shape.targets_per_disk == 12 and p.shape.chains_per_disk == 100
    assert set(pair_counts(p.blocks.tolist(), 25).values()) == {1}


def test_shape_rule_and_its_limit():
    assert fs3.shape(5, 3, 6).targets_per_disk == 6
    big = fs3.shape(200, 3)
    assert big.targets_per_disk == 99 and "198 of its 199" in big.note  # 102 would not fit target ids
    with pytest.raises(InputError, match="at least 3 storage nodes"):
        fs3.shape(2, 3)
    with pytest.raises(InputError, match="multiple of the replication"):
        fs3.shape(5, 3, targets_per_disk=4)


def test_core_refuses_bad_shapes():
    with pytest.raises(InputError, match="multiple of the replication"):
        core.place(5, 3, 4)
    with pytest.raises(InputError) as e:
        core.place(2, 3, 3)
    assert e.value.field == "nodes"


@pytest.mark.parametrize("add", [1, 2, 5])
def test_extend_moves_few_and_stays_balanced(add):
    old = fs3.place(5, 3, 6)
    p = fs3.extend(old.blocks, 5 + add)
    v, r = 5 + add, p.shape.targets_per_disk
    check_incidence(sorted(p.blocks.tolist()), v, 3, r)
    assert p.balanced
    # existing chains keep their numbers: count members that changed, the core's `moved`
    changed = sum(len(set(a) - set(b)) for a, b in zip(old.blocks.tolist(), p.blocks.tolist()))
    assert changed == p.moved
    # each new node needs r memberships; the new chains hold at most (b' - b) of them
    lower = add * max(0, r - (p.shape.chains_per_disk - 10)) // 3
    assert lower <= p.moved <= 10 * 3


@given(st.integers(2, 24), st.integers(2, 4), st.integers(0, 40), st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_pair_histogram_matches_reference(v, k, b, seed):
    k = min(k, v)
    rng = np.random.default_rng(seed)
    blocks = np.array([rng.choice(v, k, replace=False) for _ in range(b)], dtype=np.int32).reshape(b, k)
    want = Counter(pair_counts(blocks.tolist(), v).values())
    assert fs3.pair_histogram(blocks, v) == dict(sorted(want.items()))


# ---- sizes refused before work ---------------------------------------------------------------------------


def test_a_table_this_machine_cannot_hold_is_refused_before_the_search():
    import time

    t = time.perf_counter()
    with pytest.raises(InputError) as e:
        fs3.placement.place(3000, 3, 99, disks=999)  # the search alone would take minutes
    assert time.perf_counter() - t < 1.0
    line = e.value.one_line()
    assert line.startswith("disks: the chain table of 296,703,000 targets"), line
    assert "GiB of memory, over the limit of" in line and "available; this machine has" in line


def test_the_table_estimate_follows_what_building_takes(tmp_path):
    """The per-target figures against the peak memory of `plan chains` itself (one run without files, one
    with), each within 40%: a guard against chains.py growing past its estimate."""
    import subprocess
    import sys

    def peak_kib(*args: str) -> int:
        # NOTE: VmHWM, not ru_maxrss, which a child inherits from the (large) test process that forked it.
        code = (
            "import re, sys; from fireflyer.cli import main; sys.argv = ['flyer', *sys.argv[1:]]\n"
            "try: main()\nexcept SystemExit: pass\n"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print(hwm, file=sys.stderr)"
        )
        res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
        return int(res.stderr.strip().splitlines()[-1])

    base = ["fs3", "plan", "chains", "--nodes", "200", "--min-targets-per-disk", "99", "--json"]
    s = fs3.placement.shape(200, 3, 99)
    small = peak_kib(*base, "--disks", "2")
    for files, extra in ((False, []), (True, ["--out", str(tmp_path / "out")])):
        grown = (peak_kib(*base, "--disks", "22", *extra) - small) * 1024
        want = fs3.placement.table_bytes(s, 20, files=files)
        assert 0.6 < grown / want < 1.4, (files, grown, want)


@pytest.mark.parametrize(
    "kwargs, expect",
    [
        (dict(nodes=99_999_999_999), "nodes: must be 1..4000"),
        (dict(nodes=5, seed=-1), "seed: must be 0..2**64-1"),
        (dict(nodes=5, seed=2**64), "seed: must be 0..2**64-1"),
        (dict(nodes=5, max_steps=-1), "max_steps: must be 0"),
        (dict(nodes=5, max_steps=2**63), "max_steps: must be 0"),
        (dict(nodes=5, disks=0), "disks: must be at least 1"),
    ],
)
def test_values_past_the_core_s_range_are_input_errors(kwargs, expect):
    with pytest.raises(InputError) as e:
        fs3.placement.place(min_targets_per_disk=6, **kwargs)
    assert expect in e.value.one_line()
