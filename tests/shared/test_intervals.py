"""The core's interval algebra (fireflyer._core.intervals) against a pure-Python reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fireflyer import _core
from fireflyer.errors import InputError

iv = _core.intervals


def ref_union(spans):
    out = []
    for lo, hi in sorted(spans):
        if hi <= lo:
            continue
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [tuple(x) for x in out]


def ref_measure(spans, x):
    return any(lo <= x < hi for lo, hi in spans)


def arrays(spans):
    return np.array([a for a, _ in spans], dtype=float), np.array([b for _, b in spans], dtype=float)


def pairs(lo, hi):
    return list(zip(lo.tolist(), hi.tolist()))


span = st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda t: (float(t[0]), float(t[0] + t[1] % 7)))


@given(st.lists(span, max_size=30))
def test_union_matches_reference(spans):
    assert pairs(*iv.union(*arrays(spans))) == ref_union(spans)


@given(st.lists(span, max_size=20), st.lists(span, max_size=20))
def test_intersect_and_subtract_pointwise(a, b):
    ua, ub = ref_union(a), ref_union(b)
    inter = pairs(*iv.intersect(*arrays(ua), *arrays(ub)))
    diff = pairs(*iv.subtract(*arrays(ua), *arrays(ub)))
    for x in [i / 2 for i in range(0, 140)]:
        assert ref_measure(inter, x) == (ref_measure(ua, x) and ref_measure(ub, x))
        assert ref_measure(diff, x) == (ref_measure(ua, x) and not ref_measure(ub, x))
    la = iv.length(*arrays(ua))
    assert la == pytest.approx(iv.length(*arrays(inter)) + iv.length(*arrays(diff)))


def test_touching_nested_zero_length_and_duplicate_spans():
    spans = [(0, 1), (1, 2), (0.5, 0.7), (3, 3), (4, 5), (4, 5)]
    assert pairs(*iv.union(*arrays(spans))) == [(0, 2), (4, 5)]


def test_bad_spans_are_input_errors():
    with pytest.raises(InputError, match="differ in length"):
        iv.union(np.zeros(2), np.zeros(3))
    with pytest.raises(InputError, match="not finite"):
        iv.union(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(InputError, match="disjoint and sorted"):
        iv.length(np.array([0.0, 0.5]), np.array([1.0, 2.0]))
