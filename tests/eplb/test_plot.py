"""``flyer eplb ... --plot``: the layers x GPUs heatmap of each GPU's load over its layer's mean beside the
per-layer max/mean, before and after side by side (plan --previous, rebalance), the straggler boxed, and
4096 layers x 256 GPUs binned with the title saying so; the ``gpu_load`` matrix it is drawn from is in the
JSON (``flyer report`` draws from it). Real commands on the shipped samples; pictures written as PNG/SVG."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from fireflyer.commands.views import eplb_plot
from fireflyer.eplb import Evaluation, RebalanceResult
from tests.conftest import run_flyer
from tests.pictures import fastest, texts

PNG = b"\x89PNG\r\n\x1a\n"
MODEL = "--model deepseek-v3"


def _flyer(where, line: str, ok: bool = True):
    r = run_flyer(*shlex.split(line), cwd=str(where))
    assert not ok or r.returncode == 0, r.stderr
    return r


def _heatmaps(fig) -> list:
    return [ax for ax in fig.axes if ax.get_images()]


def _boxes(ax) -> list:
    return [ln for ln in ax.get_lines() if ln.get_marker() == "s" and ln.get_label().startswith("straggler")]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("eplb-plot")
    _flyer(d, "eplb sample --out load.npy")
    _flyer(d, "eplb sample --kind next-load --out next-load.npy")
    _flyer(d, f"eplb plan load.npy {MODEL} --nodes 4 --gpus 32 --out plan.json")
    return d


def test_plan_plot_is_written_and_its_matrix_is_in_the_json(samples):
    r = _flyer(samples, f"eplb plan load.npy {MODEL} --nodes 4 --gpus 32 --plot plan.png --json")
    assert (samples / "plan.png").read_bytes()[:8] == PNG and "wrote plan.png" in r.stderr
    doc = json.loads(r.stdout)
    m = np.array(doc["gpu_load"], dtype=float)
    assert m.shape == (58, 32)  # a row per MoE layer, a column per GPU
    assert np.allclose(m.mean(axis=1), 1.0, atol=1e-3)  # over the layer's mean
    assert m.max(axis=1).mean() == pytest.approx(doc["imbalance"]["mean"], abs=1e-3)
    assert "gpu_load_before" not in doc


def test_evaluate_draws_a_cell_per_layer_and_gpu_with_the_straggler_boxed(samples):
    r = _flyer(samples, f"eplb evaluate plan.json next-load.npy {MODEL} --json")
    e = Evaluation(**json.loads(r.stdout))
    fig = eplb_plot.PLOTS["evaluate"](e)
    (heat,) = _heatmaps(fig)
    assert heat.get_images()[0].get_array().shape == (58, 32)
    assert heat.get_xlabel() == "GPU (of 32, 4 nodes)" and "decoder-layer id" in heat.get_ylabel()
    m = np.array(e.gpu_load, dtype=float)
    row, gpu = np.unravel_index(np.argmax(m), m.shape)
    (box,) = _boxes(heat)
    assert (box.get_xdata()[0], box.get_ydata()[0]) == (gpu + 0.5, row + 0.5)
    assert f"straggler: GPU {gpu}, layer {e.layer_ids[row]}" in box.get_label()
    side = fig.axes[1]  # the per-layer max/mean panel, layers down as in the heatmap
    assert "max / mean" in side.get_xlabel()
    (line,) = [ln for ln in side.get_lines() if ln.get_label().startswith("the plan")]
    assert np.allclose(line.get_xdata(), m.max(axis=1), atol=1e-3)
    assert "perfect balance" in texts(fig) and "log scale" in texts(fig)  # the colour bar's unit


def test_plan_with_previous_and_rebalance_draw_before_and_after_side_by_side(samples, tmp_path):
    svg = tmp_path / "next.svg"
    r = _flyer(samples, f"eplb plan next-load.npy --previous plan.json {MODEL} --plot {svg} --json")
    doc = json.loads(r.stdout)
    assert len(doc["gpu_load_before"]) == len(doc["gpu_load"]) == 58
    assert "previous plan" in svg.read_text() and "this plan" in svg.read_text()
    line = f"eplb rebalance --load next-load.npy --current plan.json {MODEL} --dry-run"
    _flyer(samples, f"{line} --plot {tmp_path / 're.png'}")
    assert (tmp_path / "re.png").read_bytes()[:8] == PNG
    fig = eplb_plot.PLOTS["rebalance"](
        RebalanceResult(**json.loads(_flyer(samples, f"{line} --json").stdout))
    )
    before, after = _heatmaps(fig)
    assert before.get_title(loc="left") == "plan in place" and after.get_title(loc="left") == "new plan"
    assert before.get_images()[0].norm.vmax == after.get_images()[0].norm.vmax  # one scale for both
    assert len(_boxes(before)) == len(_boxes(after)) == 1
    assert len([ln for ln in fig.axes[2].get_lines() if ": mean" in ln.get_label()]) == 2


def _big(layers: int, gpus: int, straggler: tuple[int, int]) -> Evaluation:
    rng = np.random.default_rng(0)
    m = np.round(rng.uniform(0.9, 1.1, (layers, gpus)), 4)
    m[straggler] = 3.0
    rows: list = m.tolist()
    rows[5] = None  # a dense layer: no load
    per = [None if r is None else max(r) for r in rows]
    return Evaluation(
        overall=1.1,
        worst=3.0,
        worst_layer=straggler[0],
        node_overall=1.0,
        layer_ids=list(range(layers)),
        per_layer=per,
        per_node=per,
        layers=layers,
        loaded_layers=layers - 1,
        experts=256,
        slots=gpus * 2,
        gpus=gpus,
        nodes=gpus // 8,
        gpu_load=rows,
    )


def test_4096_layers_by_256_gpus_is_binned_keeps_the_straggler_and_says_so(tmp_path):
    e = _big(4096, 256, (4000, 200))
    fig = eplb_plot.plot_evaluate(e)
    (heat,) = _heatmaps(fig)
    shown = heat.get_images()[0].get_array()
    assert shown.shape == (256, 256)  # never 4096 rows of a quarter pixel
    assert shown.max() == 3.0 and np.unravel_index(np.argmax(shown), shown.shape) == (250, 200)
    assert "aggregated: each row = 16 layers; the max of each" in fig.get_suptitle()
    (box,) = _boxes(heat)
    assert (box.get_xdata()[0], box.get_ydata()[0]) == (200.5, 4000.5)
    assert len(fig.axes[1].get_lines()[0].get_xdata()) == 256  # the per-layer panel binned alike
    ticks = [int(t.get_text()) for t in heat.get_yticklabels()]
    assert len(ticks) <= 12 and all(t % 500 == 0 for t in ticks)  # round layer numbers
    # NOTE: the issue asks under a second; generous here (a shared 2-core machine): benchmarks/plots.py
    assert fastest(eplb_plot.plot_evaluate, e, tmp_path / "big.png") < 3.0


def test_a_plan_40x_off_leaves_the_balanced_one_readable_beside_it():
    bad = _big(64, 32, (3, 3)).gpu_load
    bad[3][3] = 40.0  # type: ignore[index]
    good = np.round(np.random.default_rng(1).uniform(0.98, 1.02, (64, 32)), 4).tolist()
    r = RebalanceResult(
        replaced=False,
        reason="dry run",
        before=40.0,
        after=1.02,
        gain=0.9,
        copies=3,
        bytes=1,
        plan="plan.json",
        gpu_load_before=bad,
        gpu_load=good,
    )
    fig = eplb_plot.plot_rebalance(r)
    norm = _heatmaps(fig)[0].get_images()[0].norm
    assert norm.vmin == pytest.approx(1 / 40) and norm.vmax == pytest.approx(40)  # log, symmetric about 1
    assert fig.axes[2].get_xscale() == "log"


def test_a_bad_suffix_is_refused_before_any_work(samples):
    r = _flyer(samples, f"eplb evaluate plan.json load.npy {MODEL} --plot x.pdf", ok=False)
    assert r.returncode == 2 and "--plot" in r.stderr and not (samples / "x.pdf").exists()
