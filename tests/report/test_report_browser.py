"""`flyer report` in a real browser: Debian's chromium, headless, driven by playwright's Python package
pointed at the system browser (no browser download). The page of a full set of results (every command
with a picture, run on the shipped samples) loads with no console message of type error or warning, no
request but the page itself, every chart's ``<svg>`` visible with a non-zero box, and each chart's region
of a screenshot far from blank (its pixels vary). Skipped, saying why, without chromium or playwright
(`.ci/run` installs both)."""

from __future__ import annotations

import shutil

import msgspec
import pytest

from fireflyer.report import ReportWritten
from tests.conftest import run_flyer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian: apt-get install chromium)"),
]

# (file, argv): every command that has a picture, on the shipped samples or small inputs; kernels compare
# may exit 1 (the same quick run timed twice on a shared machine), everything else exits 0.
RUNS = [
    ("analyze.json", "trace analyze {d}/a"),
    ("diff.json", "trace diff {d}/a {d}/b"),
    ("compare.json", "pipeline compare"),
    ("sweep.json", "pipeline sweep --schedules all --ranks 4,8 -n 16:64:16"),
    ("simulate.json", "pipeline simulate"),
    ("eplb-plan.json", "eplb plan {d}/load.npy --model deepseek-v3 --nodes 4 --gpus 32 --out {d}/plan.json"),
    ("eplb-evaluate.json", "eplb evaluate {d}/plan.json {d}/load.npy --model deepseek-v3"),
    ("inference.json", "inference estimate --deployment deepseek-v3-prefill"),
    ("chains.json", "fs3 plan chains --nodes 5 --replication 3 --min-targets-per-disk 6 --disks 16"),
    ("bench.json", "kernels bench mla --quick --out {d}/base.json"),
    ("kernels-compare.json", "kernels compare {d}/base.json {d}/base.json"),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from fireflyer.trace import synthetic

    d = tmp_path_factory.mktemp("results")
    synthetic.generate_ranks(d / "a", 8, steps=2, straggler=5, slow=1.4)
    synthetic.generate_ranks(d / "b", 8, steps=2, straggler=2, slow=1.6, seed=1)
    assert run_flyer("eplb", "sample", "--out", str(d / "load.npy")).returncode == 0
    docs = []
    for name, argv in RUNS:
        res = run_flyer(*argv.format(d=d).split(), "--json", timeout=600)
        assert res.returncode in ((0, 1) if name == "kernels-compare.json" else (0,)), f"{argv}: {res.stderr}"
        (d / name).write_text(res.stdout)
        docs.append(str(d / name))
    out = d / "report.html"
    res = run_flyer("report", *docs, "--out", str(out), "--title", "fireflyer: every picture", "--json")
    assert res.returncode == 0, res.stderr
    return out, msgspec.json.decode(res.stdout, type=ReportWritten)


REGIONS = """() => [...document.querySelectorAll('figure.chart > svg')].map(s => {
  const r = s.getBoundingClientRect();
  return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
})"""
"""Each chart's box in page coordinates (those of a full-page screenshot)."""


def test_the_report_renders_in_headless_chromium(page, tmp_path):
    page, written = page
    sync_api = pytest.importorskip("playwright.sync_api", reason="no playwright (pip install playwright)")
    import numpy as np
    from PIL import Image

    messages, failures, requests = [], [], []
    shot = tmp_path / "report.png"
    with sync_api.sync_playwright() as pw:
        # NOTE: the system's chromium, never a downloaded one; --no-sandbox as CI runs tests as root
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            tab.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            tab.on("pageerror", lambda e: failures.append(str(e)))
            tab.on("requestfailed", lambda r: failures.append(f"request failed: {r.url}"))
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(page.as_uri(), wait_until="load")
            charts = tab.locator("figure.chart > svg")
            visible = [charts.nth(i).is_visible() for i in range(charts.count())]
            sections = tab.locator("section").count()
            regions = tab.evaluate(REGIONS)
            tab.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not failures, failures
    assert not [m for m in messages if m.startswith(("error", "warning"))], messages
    assert requests == [page.as_uri()]  # nothing fetched but the page itself
    assert sections == len(RUNS)
    # every chart the page has is visible: pipeline simulate has none (it draws its own timeline with --svg)
    charted = [e.command for e in written.sections if e.chart]
    assert visible == [True] * len(charted) and "flyer pipeline simulate" not in charted
    assert {
        "flyer trace analyze",
        "flyer trace diff",
        "flyer pipeline compare",
        "flyer pipeline sweep",
    } <= set(charted)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    for i, (x, y, w, h) in enumerate(regions):
        assert w > 200 and h > 150, f"chart {i + 1} is {w} x {h} px"
        region = pixels[int(y) : int(y + h), int(x) : int(x + w)]
        assert region.std() > 20, f"chart {i + 1} looks blank (pixel std {region.std():.1f})"
        dark = (region < 128).mean()
        assert 0.005 < dark < 0.6, f"chart {i + 1}: {dark:.1%} dark pixels (blank, or a black square)"
