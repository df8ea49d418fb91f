"""FP8 GEMM with fine-grained scaling: quantization, and the reference and torch backends against the
product of the unquantized inputs in every layout (dense, contiguous with -1 rows, masked groups)."""

from __future__ import annotations

import pytest
import torch

from fireflyer.errors import InputError
from fireflyer.kernels import GemmCase, gemm


def test_quantize_round_trip():
    x = torch.randn(3, 200, 256)
    q, s = gemm.quantize_rows(x)
    assert q.dtype == torch.float8_e4m3fn and s.shape == (3, 200, 2)
    back = gemm.dequantize_rows(q, s)
    assert ((back - x).abs() / x.abs().amax()).max() < 2**-3
    assert (q.float().abs().amax(dim=-1) <= 448).all()
    qb, sb = gemm.quantize_blocks(x)  # n = 200 is not a multiple of 128: scales over padded blocks
    assert sb.shape == (3, 2, 2)
    assert ((gemm.dequantize_blocks(qb, sb) - x).abs() / x.abs().amax()).max() < 2**-3
    _, su = gemm.quantize_rows(x, ue8m0=True)
    assert torch.equal(su, torch.pow(2.0, su.log2().round()))


@pytest.mark.parametrize(
    "case",
    [
        GemmCase(m=64, n=200, k=256),
        GemmCase(m=130, n=384, k=512, seed=4),
        GemmCase(layout="contiguous", groups=3, m=100, n=130, k=256),
        GemmCase(layout="contiguous", groups=2, m=1, group_rows=[128, 256], n=64, k=128),
        GemmCase(layout="masked", groups=3, m=64, expected_m=40, n=128, k=384),
    ],
    ids=lambda c: f"{c.layout}-{c.m}x{c.n}x{c.k}",
)
def test_backends_match_unquantized_product(case):
    inp = gemm.make_inputs(case)
    truth = gemm.truth(inp)
    for name in ("reference", "torch"):
        out = gemm.PREPARE[name](inp)()
        got = gemm.check(out, truth, inp)
        assert got.correct, (name, got.detail)
        assert 1e-5 < got.error_metric < 1e-3  # FP8 error is there, and within DeepGEMM's bound


def test_skipped_rows_are_not_checked_and_valid_rows_are():
    inp = gemm.make_inputs(GemmCase(layout="contiguous", groups=2, m=100, n=128, k=256))
    truth = gemm.truth(inp)
    out = gemm.reference(inp)
    pad = (inp.m_indices == -1).nonzero().flatten()
    assert pad.numel() and (inp.a[pad] == 0).all()  # -1 rows are zero-padded, as DeepGEMM's tests make them
    garbage = out.clone()
    garbage[pad] = 1e4
    assert gemm.check(garbage, truth, inp).correct
    wrong = out.clone()
    wrong[0] *= -1
    assert not gemm.check(wrong, truth, inp).correct


def test_masked_rows_past_masked_m_are_not_checked():
    inp = gemm.make_inputs(GemmCase(layout="masked", groups=2, m=64, expected_m=32, n=128, k=128))
    assert all(0 < m <= 64 for m in inp.group_m) and inp.masked_m.tolist() == inp.group_m
    out = gemm.reference(inp)
    out[0, inp.group_m[0] :] = float("nan")
    assert gemm.check(out, gemm.truth(inp), inp).correct
    assert inp.cost().flops == 2 * sum(inp.group_m) * 128 * 128


def test_contiguous_layout_must_be_aligned():
    ok = torch.tensor([0] * 100 + [-1] * 28 + [1] * 128, dtype=torch.int32)
    gemm.check_contiguous(ok, 2)
    bad = torch.tensor([0] * 100 + [1] * 156, dtype=torch.int32)
    with pytest.raises(InputError, match="aligned to 128 rows"):
        gemm.check_contiguous(bad, 2)
    with pytest.raises(InputError, match="aligned to 128 rows"):
        gemm.check_contiguous(torch.zeros(100, dtype=torch.int32), 1)


def test_case_validation():
    with pytest.raises(ValueError, match="not a multiple of 128"):
        GemmCase(m=64, n=128, k=100)
    with pytest.raises(ValueError, match="aligned to 128 rows"):
        GemmCase(layout="contiguous", groups=2, m=64, n=128, k=128, group_rows=[128, 200])
    with pytest.raises(ValueError, match="one group"):
        GemmCase(m=64, n=128, k=128, groups=2)
    assert GemmCase(layout="masked", groups=2, m=64, n=128, k=128).expected_m == 32
