"""Timeline pictures stay readable at any size: SVG levels of detail, ticks, sizes, and the terminal bands."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from fireflyer import pipeline as pp
from fireflyer.errors import InputError
from fireflyer.pipeline import render


def _picture(text: str) -> np.ndarray:
    """The SVG as pixels (RGB), rendered by cairosvg."""
    cairosvg = pytest.importorskip("cairosvg")
    from PIL import Image

    png = cairosvg.svg2png(bytestring=text.encode())
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _has_colour(img: np.ndarray, hex_colour: str, min_pixels: int = 50) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img.astype(int) - rgb).sum(axis=2) < 12).sum()) >= min_pixels


def test_nice_ticks():
    assert render.nice_ticks(24) == [0, 5, 10, 15, 20]
    assert render.nice_ticks(3134)[:3] == [0, 500, 1000]
    assert render.nice_ticks(0.07)[1] == pytest.approx(0.01)


def test_small_schedule_boxes_labels_and_axis():
    r = pp.simulate("dualpipev", 4, 10)
    text = pp.svg(r.schedule, r.start, r.end, title="dualpipev")
    assert pp.svg_layout(r.schedule, r.start, r.end).mode == "boxes"
    assert text.count("<title>") == len(r.start)  # every op named in its tooltip
    assert text.count(">F&amp;B<") == 1  # the legend; F&B boxes are labelled 3&1 style
    assert ">10<" in text and ">60<" in text and "makespan 66" in text  # ticks at 10s
    img = _picture(text)
    for colour in pp.render.COLORS.values():
        assert _has_colour(img, colour)


def test_labels_fit_or_are_left_out():
    r = pp.simulate("zb1p", 8, 20)
    text = pp.svg(r.schedule, r.start, r.end)
    labels = [
        line
        for line in text.splitlines()
        if line.startswith("<text")
        and 'text-anchor="middle"' in line
        and "font-size=" in line
        and "y=" in line
    ]
    assert labels and all(float(line.split('font-size="')[1].split('"')[0]) >= 6.5 for line in labels)


def test_large_schedule_merges_runs_and_stays_small():
    r = pp.simulate("dualpipe", 64, 1024)
    t0 = time.perf_counter()
    text = pp.svg(r.schedule, r.start, r.end)
    assert time.perf_counter() - t0 < 30
    assert pp.svg_layout(r.schedule, r.start, r.end).mode == "runs"
    assert len(text.encode()) < 4 << 20 and 'stroke="black" stroke-width="0.5"><title>' not in text
    img = _picture(text)
    assert _has_colour(img, pp.render.COLORS["F&B"], 100_000)  # the steady state is F&B pairs
    white = (img.sum(axis=2) == 765).mean()
    assert white > 0.05  # not nearly black: box outlines no longer dominate


def test_huge_schedule_as_pixels():
    r = pp.simulate("1f1b", 512, 4096)
    text = pp.svg(r.schedule, r.start, r.end)
    assert pp.svg_layout(r.schedule, r.start, r.end).mode == "pixels"
    assert len(text.encode()) < 20 << 20 and "data:image/png;base64," in text


def test_terminal_bands_label_every_op_and_read_without_colour():
    r = pp.simulate("zb1p", 8, 20)
    bands = pp.timeline_bands(r.schedule, r.start, r.end, 70)
    text = "\n".join("".join(t for t, _ in row) for b in bands for row in b.rows)
    for mb in range(20):
        assert f"F{mb}" in text and f"b{mb}" in text and f"W{mb}" in text
    assert all(len("".join(t for t, _ in row)) <= 70 for b in bands for row in b.rows)
    with pytest.raises(InputError, match="bands"):
        big = pp.simulate("dualpipe", 64, 1024)
        pp.timeline_bands(big.schedule, big.start, big.end, 80)


def test_runs_merge_as_the_sequential_rule_does():
    from fireflyer.pipeline.render import _runs

    def reference(s, e, k, min_gap):
        out: list[list] = []
        for a, b, kind in zip(s, e, k):
            if out and out[-1][2] == kind and a - out[-1][1] < min_gap:
                out[-1][1], out[-1][3] = max(out[-1][1], b), out[-1][3] + 1
            else:
                out.append([a, b, kind, 1])
        return [tuple(r) for r in out]

    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(0, 40))
        gaps, lens = rng.exponential(1.0, n), rng.exponential(1.0, n)
        s = np.cumsum(gaps + np.concatenate([[0.0], lens[:-1]])) if n else np.zeros(0)
        e, k = s + lens, rng.integers(0, 3, n)
        assert _runs(s, e, k, 0.8) == reference(s.tolist(), e.tolist(), k.tolist(), 0.8)
