"""`flyer pipeline measure`'s library: a real MLA + MoE block timed on this machine, fed to the simulator."""

from __future__ import annotations

import subprocess
import sys
import time

import msgspec
import pytest
import torch

from fireflyer import pipeline as pp
from fireflyer.errors import InputError
from fireflyer.pipeline import measurement as pm
from tests.conftest import requires_cuda

TINY = {
    "hidden": 64,
    "experts": 4,
    "tokens": 32,
    "samples": 3,
    "warmup": 1,
    "warmup_seconds": 0.0,
    "sample_seconds": 0.0,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def tiny():
    t0 = time.perf_counter()
    res = pm.measure("deepseek-v3", **TINY)
    return res, time.perf_counter() - t0


def test_tiny_block_times_are_positive_and_fast(tiny):
    res, elapsed = tiny
    assert elapsed < 10.0  # ~0.5 s on 2 idle cores; slack for a shared machine
    assert res.model == "deepseek-v3" and res.device.startswith("cpu") and res.dtype == "float32"
    assert min(res.f, res.b, res.b_input, res.w) > 0
    assert res.w <= res.b
    assert res.fb == pytest.approx(res.f + res.b)
    assert res.samples == 3 and res.warmup == 1


def test_warm_up_lasts_its_minimum_time():
    t0 = time.perf_counter()
    res = pm.measure("deepseek-v3", **{**TINY, "warmup_seconds": 0.3})
    assert time.perf_counter() - t0 >= 0.3
    assert res.warmup >= 1 and res.warmup_seconds == 0.3 and res.samples == 3


def test_sampling_lasts_its_minimum_time_and_reports_progress():
    shares: list[float] = []
    t0 = time.perf_counter()
    res = pm.measure("deepseek-v3", **{**TINY, "sample_seconds": 0.3}, progress=shares.append)
    assert time.perf_counter() - t0 >= 0.3
    assert res.samples > 3 and res.sample_seconds == 0.3 and len(shares) == res.samples
    assert sum(shares) == pytest.approx(1.0)
    with pytest.raises(InputError) as e:
        pm.measure("deepseek-v3", **{**TINY, "sample_seconds": -1})
    assert e.value.field == "sample_seconds"


def test_fresh_process_measures_the_same_block():
    shares: list[float] = []
    res = pm.measure("deepseek-v3", **TINY, fresh_process=True, progress=shares.append)
    assert res.fresh_process and res.samples == 3 and res.dims["hidden"] == 64
    assert min(res.f, res.b, res.b_input, res.w) > 0 and res.threads is not None
    assert sum(shares) == pytest.approx(1.0)


def test_dims_follow_the_profile(tiny):
    d = tiny[0].dims
    assert (d["hidden"], d["experts"], d["seq_len"], d["tokens"]) == (64, 4, 32, 32)
    assert d["top_k"] == 4  # profile's 8 capped to the 4 experts
    assert d["shared_experts"] == 1 and d["router"] == "sigmoid" and d["q_lora_rank"] is not None
    assert d["params"] > 0
    lite = pm.block_dims("deepseek-v2-lite", hidden=256)
    assert lite["q_lora_rank"] is None and lite["router"] == "softmax" and lite["shared_experts"] == 2
    assert lite["experts"] == 16 and lite["top_k"] == 6 and lite["heads"] == 2
    assert pm.block_dims("deepseek-r1")["model"] == "deepseek-v3"  # aliases resolve


def test_chunk_times_feed_the_simulator(tiny):
    from fireflyer.pipeline import simulate

    res = tiny[0]
    ct = res.chunk_times()
    assert (ct.f, ct.b, ct.w, ct.fb) == (res.f, res.b, res.w, res.fb)
    sim = simulate("dualpipe", 4, 8, ct)
    assert sim.makespan > 0 and not sim.deadlock
    # one rank does 8 F, 8 B per direction pair at least: the makespan covers its busy time
    assert sim.makespan >= max(r.busy for r in sim.per_rank)


def test_measure_and_simulate():
    m, sim = pm.measure_and_simulate("dualpipe", 4, 8, **TINY)
    assert isinstance(m, pm.MeasureResult)
    assert sim.schedule.name == "dualpipe" and sim.makespan > 0
    assert sim.times.f == m.f and sim.times.w == m.w


def test_bad_schedule_fails_before_measuring(monkeypatch):
    monkeypatch.setattr(pm, "measure", lambda **kw: pytest.fail("measured anyway"))
    with pytest.raises(InputError) as e:
        pm.measure_and_simulate("dualpipe", 3, 8)
    assert e.value.field == "ranks"


def test_measurement_encodes_as_its_schema(tiny):
    """The --json document of `flyer pipeline measure` decodes strictly into its record, fields intact."""
    from fireflyer.io import dumps_json

    m = tiny[0]
    record = pp.Measurement(measured=m, simulated=pp.simulate("dualpipe", 4, 8, m.chunk_times()).record())
    back = msgspec.json.decode(dumps_json(record), type=pp.Measurement)
    assert back == record and back.measured.notes == m.notes


def _grads_full(blk, x, gy):
    out = blk.forward(x)
    names = list(blk.params)
    gs = torch.autograd.grad(out, [x, *blk.params.values()], gy)
    return gs[0], dict(zip(names, gs[1:]))


def _grads_split(blk, x, gy):
    tape: list = []
    out = blk.forward(x, tape)
    gs = torch.autograd.grad(out, [x] + [t[3] for t in tape], gy, allow_unused=True)
    return gs[0], pm.Block.weight_grads(tape, list(gs[1:]))


@pytest.mark.parametrize("model", ["deepseek-v3", "deepseek-v2-lite"])
def test_split_backward_equals_full_backward(model):
    # B-input (towards the input and op outputs) then W (weight grads from saved inputs) == one full backward.
    dims = pm.block_dims(model, hidden=48, experts=12, tokens=24, batch=2)  # top-k < experts: sparse
    dims.pop("model")
    blk = pm.Block(dims, device="cpu", dtype=torch.float64, seed=3)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 24, 48, generator=g, dtype=torch.float64, requires_grad=True)
    gy = torch.randn(2, 24, 48, generator=g, dtype=torch.float64)
    gx_full, gw_full = _grads_full(blk, x, gy)
    gx_split, gw_split = _grads_split(blk, x, gy)
    torch.testing.assert_close(gx_split, gx_full)
    assert set(gw_split) <= set(gw_full)
    for name, gw in gw_full.items():
        if name in gw_split:
            torch.testing.assert_close(gw_split[name], gw, msg=name)
        else:  # an expert no token was routed to
            assert name.startswith("e") and not gw.any(), name
    # every non-expert weight has a gradient from the split
    assert {n for n in gw_full if not n.startswith("e")} <= set(gw_split)


def test_same_seed_same_block():
    dims = pm.block_dims(hidden=32, experts=4, tokens=8)
    dims.pop("model")
    a = pm.Block(dims, device="cpu", dtype=torch.float32, seed=1)
    b = pm.Block(dims, device="cpu", dtype=torch.float32, seed=1)
    x = torch.randn(1, 8, 32)
    torch.testing.assert_close(a.forward(x), b.forward(x))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"hidden": 0}, "hidden"),
        ({"experts": -1}, "experts"),
        ({"tokens": 0}, "tokens"),
        ({"batch": 0}, "batch"),
        ({"hidden": 2.5}, "hidden"),
        ({"samples": 0}, "samples"),
        ({"warmup": -1}, "warmup"),
        ({"warmup_seconds": -1.0}, "warmup_seconds"),
        ({"device": "tpu"}, "device"),
        ({"dtype": "int8"}, "dtype"),
        ({"model": "no-such-model"}, "model"),
    ],
)
def test_bad_inputs(kwargs, field):
    with pytest.raises(InputError) as e:
        pm.measure(**{**TINY, **kwargs})
    assert e.value.field == field


def test_unknown_model_names_known_ones():
    with pytest.raises(InputError) as e:
        pm.measure("gpt-9", **TINY)
    assert e.value.field == "model" and "deepseek-v3" in e.value.message


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_gpu_is_an_input_error():
    with pytest.raises(InputError) as e:
        pm.measure(**{**TINY, "device": "cuda"})
    assert e.value.field == "device"


def test_w_above_b_is_clamped(monkeypatch):
    real = pm.Block.weight_grads

    def slow(tape, grads):
        time.sleep(0.5)  # far above B, even on a loaded machine
        return real(tape, grads)

    monkeypatch.setattr(pm.Block, "weight_grads", staticmethod(slow))
    res = pm.measure("deepseek-v3", **{**TINY, "samples": 1, "warmup": 0})
    assert res.w == res.b and res.notes and "clamped" in res.notes[0]
    res.chunk_times()  # the simulator accepts it


def test_import_pipeline_stays_torch_free(tmp_path):
    code = "import sys, fireflyer.pipeline as p; p.simulate('zbv', 4, 8); print('torch' in sys.modules)"
    # NOTE: run outside the checkout so the installed package (with its compiled core) is imported.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "False"


@requires_cuda
def test_measure_on_gpu():
    res = pm.measure("deepseek-v3", device="cuda", samples=5, warmup=2)
    assert res.device.startswith("cuda (") and res.dtype == "bfloat16"
    assert min(res.f, res.b, res.b_input, res.w) > 0 and res.w <= res.b
    _, sim = pm.measure_and_simulate("dualpipe", 4, 8, device="cuda", samples=3, warmup=1)
    assert sim.makespan > 0
