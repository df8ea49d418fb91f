"""Error metrics and rooflines of the kernel harness."""

from __future__ import annotations

import numpy as np
import pytest

from fireflyer.kernels import calc_diff, roofline


def _calc_diff_reference(x, y):
    xy = sum(a * b for a, b in zip(x, y))
    xx = sum(a * a for a in x)
    yy = sum(b * b for b in y)
    return 1 - 2 * xy / (xx + yy)


def test_calc_diff():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(100)
    y = x + 1e-3 * rng.standard_normal(100)
    assert calc_diff(x, x) == pytest.approx(0, abs=1e-15)
    assert calc_diff(x, y) == pytest.approx(_calc_diff_reference(x.tolist(), y.tolist()), rel=1e-9)
    assert calc_diff(np.zeros(3), np.zeros(3)) == 0.0
    import torch

    assert calc_diff(torch.tensor(x), torch.tensor(y)) == pytest.approx(calc_diff(x, y))


def test_roofline():
    # H800: 989.4 TFLOPS bf16, 3350 GB/s: a 4096^3 bf16 GEMM is compute bound
    r = roofline(2 * 4096**3, 3 * 4096 * 4096 * 2, peak_tflops=989.4, bandwidth_gbps=3350)
    assert r["compute_s"] > r["memory_s"] and r["bound_s"] == r["compute_s"]
    assert r["ridge"] == pytest.approx(989.4e12 / 3350e9)
