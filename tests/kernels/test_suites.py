"""Suite files: expansion of list values, the shipped suites, and errors that name the field."""

from __future__ import annotations

import time

import pytest

from fireflyer.errors import InputError
from fireflyer.kernels import suites


def test_shipped_suites_hold_the_anchors_shapes():
    default = suites.load("default")
    mla = [c for c in default.cases if c.op == "mla" and c.mode == "dense"]
    assert len(mla) == 3 * 4 * 2 * 2 and {c.b for c in mla} == {128}
    assert {(c.s_k, c.h_q) for c in mla} == {(s, h) for s in (4096, 8192, 16384) for h in (16, 32, 64, 128)}
    sparse = [c for c in default.cases if c.op == "mla" and c.mode == "sparse_fp8"]
    assert sparse and all(c.topk == 2048 for c in sparse)
    dense = {(c.m, c.n, c.k) for c in default.cases if c.op == "gemm" and c.layout == "dense"}
    assert (64, 2112, 7168) in dense and (4096, 7168, 16384) in dense and len(dense) == 18
    assert {c.layout for c in default.cases if c.op == "gemm"} == {"dense", "contiguous", "masked"}
    ep = {(c.mode, c.tokens, c.hidden, c.topk, c.experts) for c in default.cases if c.op == "ep"}
    assert ep == {("normal", 4096, 7168, 8, 256), ("low_latency", 128, 7168, 8, 288)}
    quick = suites.load("quick")
    assert {c.op for c in quick.cases} == {"mla", "gemm", "ep"}


def test_expansion_is_counted_before_it_is_made(tmp_path):
    p = tmp_path / "huge.yaml"
    axis = ", ".join(str(128 * i) for i in range(1, 1001))
    p.write_text(f"name: huge\ncases:\n  - {{op: gemm, m: [{axis}], n: [{axis}], k: [{axis}]}}\n")
    t0 = time.perf_counter()
    with pytest.raises(InputError) as e:
        suites.load(p)
    assert time.perf_counter() - t0 < 2  # NOTE: 10^9 cases made one by one would take hours
    assert e.value.field == "cases[0]" and e.value.file == str(p)
    assert (
        "expands to 1,000,000,000 cases (1000 x 1000 x 1000); a suite holds at most 10,000" in e.value.message
    )


def test_expansion(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: s\ncases:\n"
        "  - {op: gemm, m: [64, 128], n: 256, k: [128, 256]}\n"
        "  - {op: gemm, layout: contiguous, groups: 2, m: 64, n: 128, k: 128,"
        " group_rows: [[128, 128], [128, 256]]}\n"
    )
    s = suites.load(p)
    assert [(c.m, c.k) for c in s.cases[:4]] == [(64, 128), (64, 256), (128, 128), (128, 256)]
    assert [c.group_rows for c in s.cases[4:]] == [[128, 128], [128, 256]]


@pytest.mark.parametrize(
    "body, field, words",
    [
        ("cases:\n  - {op: gemm, m: 64, n: 128, k: 128}\n", "name", "non-empty"),
        ("name: s\ncases: []\n", "cases", "non-empty"),
        ("name: s\ncases:\n  - {op: conv, m: 1}\n", "cases[0].op", "unknown operation"),
        ("name: s\ncases:\n  - {op: gemm, m: 64, n: 128, k: 100}\n", "cases[0]", "multiple of 128"),
        (
            "name: s\ncases:\n  - {op: gemm, m: 64, n: 128, k: 128, bogus: 1}\n",
            "cases[0].bogus",
            "unknown field",
        ),
        ("name: s\ncases:\n  - {op: mla, b: 1, s_k: 8, h_q: [1, x]}\n", "cases[0].h_q", "expected int"),
        ("name: s\ncases:\n  - {op: mla, b: 1, s_k: 8, h_q: []}\n", "cases[0].h_q", "empty list"),
        (
            "name: s\ncases:\n  - {op: gemm, layout: contiguous, groups: 2, m: 1, n: 128, k: 128,"
            " group_rows: [128, 100]}\n",
            "cases[0]",
            "aligned to 128 rows",
        ),
        ("name: s\ncases:\n  - {op: gemm, m: 64, n: 128, k: 128}\nextra: 1\n", "extra", "unknown field"),
    ],
)
def test_errors_name_the_field(tmp_path, body, field, words):
    p = tmp_path / "s.yaml"
    p.write_text(body)
    with pytest.raises(InputError) as e:
        suites.load(p)
    assert e.value.file == str(p) and e.value.field == field and words in e.value.message


def test_missing_suite_names_the_shipped_ones(tmp_path):
    with pytest.raises(InputError, match="shipped: default, quick"):
        suites.load("nonesuch")
    with pytest.raises(InputError, match="not found"):
        suites.load(tmp_path / "gone.yaml")
