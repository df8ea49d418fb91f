"""`flyer profiles detect`: plausible measured figures, a valid profile, atomic --out."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from fireflyer import _core, profiles
from tests.conftest import requires_cuda, run_flyer


def test_detect_quick_json_is_a_valid_measured_profile(tmp_path):
    t0 = time.perf_counter()
    res = run_flyer("profiles", "detect", "--quick", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["kind"] == "hardware" and doc["measured"] is True
    # plausible: any machine this runs on streams between 0.5 GB/s and 5 TB/s, and computes
    # between 1 GFLOP/s and 1 PFLOP/s in FP32
    assert 0.5 < doc["hbm_gbps"] < 5000
    assert 0.001 < doc["peak_tflops"]["fp32"] < 1000
    assert doc["host"]["threads_used"] >= 1 and doc["memory_gib"] > 0
    # the printed document is itself a valid profile
    path = tmp_path / "me.yaml"
    path.write_text(json.dumps(doc))
    assert profiles.load_file(path).measured
    assert time.perf_counter() - t0 < 30  # generous: the 3 s figure is measured in benchmarks/, not here


def test_detect_out_writes_valid_profile_atomically(tmp_path):
    out = tmp_path / "this-host.yaml"
    out.write_text("old contents\n")
    res = run_flyer("profiles", "detect", "--quick", "--name", "this-host", "--out", str(out))
    assert res.returncode == 0, res.stderr
    prof = profiles.load_file(out)
    assert prof.name == "this-host" and prof.measured and prof.hbm_gbps > 0
    assert [p.name for p in tmp_path.iterdir()] == ["this-host.yaml"]  # no temp files left behind
    assert "memory bandwidth" in res.stdout


def test_detect_min_gbps_gate():
    res = run_flyer("profiles", "detect", "--quick", "--min-gbps", "1e9")
    assert res.returncode == 1 and "below --min-gbps" in res.stderr


def test_library_detect_progress_and_threads():
    steps = []
    prof = profiles.detect(
        quick=True, threads=1, progress=lambda n=1, description=None: steps.append(description)
    )
    assert prof.host.threads_used == 1
    assert steps[0] == "host" and steps[-1] == "done"


def _triad_reference(b, c, s):
    return [bi + s * ci for bi, ci in zip(b, c)]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 7, 8, 1000, 4099])
def test_core_triad_matches_reference(n, threads):
    threads = min(threads, len(os.sched_getaffinity(0)))  # NOTE: more threads than cores are refused
    rng = np.random.default_rng(n)
    a, b, c = np.zeros(n), rng.standard_normal(n), rng.standard_normal(n)
    secs = _core.profiles.triad(a, b, c, 1.5, threads=threads, reps=2)
    assert len(secs) == 2 and all(s >= 0 for s in secs)
    np.testing.assert_allclose(a, _triad_reference(b.tolist(), c.tolist(), 1.5), rtol=1e-15, atol=0)


def test_core_triad_rejects_bad_arrays():
    a = np.zeros(10)
    with pytest.raises(ValueError, match="one length"):
        _core.profiles.triad(a, np.zeros(9), np.zeros(10), 1.0)
    with pytest.raises(ValueError, match="threads"):
        _core.profiles.triad(a, a.copy(), a.copy(), 1.0, threads=0)
    with pytest.raises(TypeError):  # wrong dtype is refused, never silently converted
        _core.profiles.triad(a.astype(np.float32), a, a, 1.0)


def test_core_fma_counts_flops():
    ((flops, secs),) = _core.profiles.fma_peak(1000, 1, 1)
    assert flops == 1000 * _core.profiles.fma_flops_per_iter and secs > 0
    with pytest.raises(ValueError):
        _core.profiles.fma_peak(0, 1, 1)


@requires_cuda
def test_detect_matches_gpus_to_profiles():
    gpus = profiles.detect(quick=True).host.gpus
    assert gpus and all(g.sm_count > 0 for g in gpus)
