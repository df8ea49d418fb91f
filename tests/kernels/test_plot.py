"""``flyer kernels bench/compare --plot``: the device's roofline with a point per case numbered by its shape
and both roofs with units and source; the comparison with a regression an X with its change; the full
suite numbered without overprinting, every case in the key; byte-deterministic output."""

from __future__ import annotations

import msgspec

from fireflyer.commands.views import kernels_plot, plotting
from fireflyer.kernels import results, suites
from fireflyer.kernels.results import shape_label
from tests.pictures import fastest, texts, written


def _result(
    op: str, backend: str, m: int, *, median: float, flops: float = 1e9, correct: bool = True
) -> dict:
    return {
        "op": op,
        "backend": backend,
        "device": "cpu (X, 2 threads)",
        "shape": {"m": m, "n": 256, "k": 512, "layout": "dense"},
        "median_us": median,
        "p20_us": median,
        "p80_us": median,
        "flops": flops,
        "bytes": 1e7,
        "tflops": flops / median / 1e6,
        "gbps": 1e7 / median / 1e3,
        "pct_peak_flops": 1.0,
        "pct_peak_bw": 1.0,
        "correct": correct,
        "error_metric": 1e-4,
        "error_kind": "calc_diff",
    }


ROOF = {
    "profile": "test-cpu",
    "peak_tflops": {"fp32": 1.0},
    "memory_gbps": 100.0,
    "link_gbps": 50.0,
    "link": "memory",
    "source": "test",
    "enforced": False,
}


def _report(cases: int, slower: float = 1.0) -> results.Report:
    rows = [
        _result("gemm", b, 64 * (i + 1), median=100.0 * (i + 1) * (slower if i % 2 else 1.0))
        for i in range(cases)
        for b in ("reference", "torch")
    ]
    rows.append(_result("ep", "torch", 1, median=50.0, flops=0.0))
    doc = {
        "schema": results.SCHEMA,
        "suite": {"name": "t"},
        "env": {"device_name": "X"},
        "roof": ROOF,
        "results": rows,
    }
    return msgspec.convert(doc, results.Report)


def test_roofline_has_a_point_per_case_roofs_and_units(tmp_path):
    report = _report(4)
    fig = kernels_plot.PLOTS["bench"](report)
    roof_ax = fig.axes[0]
    assert "FLOP/byte" in roof_ax.get_xlabel() and "TFLOP/s" in roof_ax.get_ylabel()
    points = [ln for ln in roof_ax.get_lines() if ln.get_linestyle() == "None"]
    assert len(points) == 8  # 4 shapes x 2 backends with FLOPs
    labels = roof_ax.get_legend_handles_labels()[1]
    assert any("memory roof 100 GB/s" in x for x in labels) and any("fp32 compute roof" in x for x in labels)
    assert "GB/s" in fig.axes[1].get_xlabel()  # the ep case, without FLOPs
    svg = written(fig, tmp_path, "bench")
    assert "#4 gemm" in svg  # the key names every case by its shape


def test_compare_marks_regressions(tmp_path):
    c = results.compare(_report(3), _report(3, slower=1.5), threshold_pct=5).report()
    fig = kernels_plot.PLOTS["compare"](c)
    ax = fig.axes[0]
    (marks,) = [ln for ln in ax.get_lines() if ln.get_marker() == plotting.BAD_MARKER and len(ln.get_xdata())]
    assert len(marks.get_xdata()) == c.regressions > 0  # an X per regression
    assert "µs" in ax.get_xlabel()
    assert "+50.0%" in written(fig, tmp_path, "compare")


def test_output_is_byte_deterministic():
    fig = lambda: kernels_plot.plot_bench(_report(2))  # noqa: E731
    assert plotting.render(fig(), plotting.Format.SVG) == plotting.render(fig(), plotting.Format.SVG)
    assert plotting.render(fig(), plotting.Format.PNG) == plotting.render(fig(), plotting.Format.PNG)


def _full_suite() -> results.Report:
    """Every case of the default suite on two backends, rates spread over four decades (as on a GPU)."""
    suite = suites.load("default")
    rows = []
    for i, case in enumerate(suite.cases):
        for b in ("reference", "torch"):
            flops = 0.0 if case.op == "ep" else 1e9 * (1 + i % 7)
            row = _result(case.op, b, 64, median=10.0 * (1 + (i * 37) % 400), flops=flops, correct=i != 5)
            rows.append(dict(row, shape=case.shape()))
    doc = {"schema": results.SCHEMA, "suite": {"name": "default"}, "env": {}, "roof": ROOF, "results": rows}
    return msgspec.convert(doc, results.Report)


def test_the_full_suite_numbers_each_case_once_without_overprinting(tmp_path):
    report = _full_suite()
    fig = kernels_plot.plot_bench(report)
    roof_ax = fig.axes[0]
    numbers = [t for t in roof_ax.texts if t.get_text().startswith("#")]
    cases = list(dict.fromkeys(f"{r.op} {shape_label(r.op, r.shape)}" for r in report.results))
    assert len(cases) == 84 and len({t.get_text() for t in numbers}) == len(numbers)  # once per case
    left_off = len([c for c in cases if not c.startswith("ep ")]) - len(numbers)
    if left_off:
        assert f"({left_off} numbers left off where they overprint)" in roof_ax.get_title(loc="left")
    for c in (cases[0], cases[-1]):  # the key names every case, the first and the last
        assert f"#{cases.index(c) + 1} {c}" in texts(fig)
    assert "2 failed their check (X)" in fig.get_suptitle()  # both results of case #6
    # NOTE: the issue asks under a second; generous here (a shared 2-core machine): benchmarks/plots.py
    assert fastest(kernels_plot.plot_bench, report, tmp_path / "bench.png") < 3.0
