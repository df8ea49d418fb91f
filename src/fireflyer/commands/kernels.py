"""`flyer kernels`: benchmark MLA decoding, FP8 GEMM and MoE dispatch/combine with correctness checks,
rooflines and CI regression gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import host
from .. import kernels as lib
from ..gates import write_junit
from ..io import check_outputs
from ._options import DeviceOpt, JsonOpt, JunitOpt, OutOpt, PlotOpt, integer_in
from ._output import Output
from .views import kernels as view
from .views import kernels_plot, plotting

app = typer.Typer(
    help="Benchmark MLA decoding, FP8 GEMM and MoE dispatch/combine: correctness, rooflines, CI gates.",
    no_args_is_help=True,
)

RESULTS: dict[str, type] = {"list": lib.Catalog, "bench": lib.Report, "compare": lib.CompareReport}
"""The record each command prints with --json (`flyer schema kernels COMMAND`)."""

MAX_RANKS = 4096
"""The most ranks --nproc may ask for (the library further holds CPU ranks to the cores here)."""


def _names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


@app.command("list")
def list_(device: DeviceOpt = "auto", json: JsonOpt = False) -> None:
    """List the operations, their backends, and whether each runs on this machine (and why not).

    Vendor backends (flash_mla, deep_gemm, deep_ep) show the distribution and version that provides them;
    a distribution other than the vendor's own is marked unofficial.

    Examples:
      flyer kernels list
      flyer kernels list --device cpu --json
    """
    out = Output(json)
    found = lib.catalog_on(device)
    out.emit(found, lambda o: view.catalog(o, found))


@app.command()
def bench(
    ops: Annotated[
        list[str] | None,
        typer.Argument(metavar="OP", help="Operations to run: mla, gemm, ep (default: all in the suite)."),
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            "--backend",
            "-b",
            metavar="NAME[,NAME...]",
            help="Backends: reference, torch, flash_mla, deep_gemm, deep_ep (default: all that run here).",
        ),
    ] = None,
    device: DeviceOpt = "auto",
    suite: Annotated[
        Path | None,
        typer.Option(
            "--suite", "-s", metavar="FILE", help="A suite YAML file, or a shipped suite: default, quick."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="The shipped quick suite (a 2-core CPU: under a minute).")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            parser=integer_in(1, host.threads_available),
            metavar="N",
            help="CPU threads for torch, at most the cores this process may run on (default: all).",
        ),
    ] = None,
    nproc: Annotated[
        int | None,
        typer.Option(
            "--nproc",
            parser=integer_in(1, MAX_RANKS),
            metavar="N",
            help="Ranks for ep cases (default: 2 on CPU, one per GPU); not under torchrun.",
        ),
    ] = None,
    out_file: OutOpt = None,
    junit: JunitOpt = None,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check, then time, every case of a suite on every backend; print rates and percentages of the roof.

    Each result is checked against a reference before it is timed (30 samples after warm-up: the median,
    p20 and p80). Exits 1 when a result fails its check or exceeds 100% of the device's roof (a bug). ep
    cases run on --nproc ranks spawned here, or on the ranks of a torchrun job.

    Examples:
      flyer kernels bench --quick --plot roofline.png
      flyer kernels bench mla gemm --device cuda --out h800.json --junit correctness.xml
      flyer kernels bench gemm --backend torch,deep_gemm --suite my-shapes.yaml --json
      torchrun --nproc-per-node 8 -m fireflyer.cli kernels bench ep --device cuda
    """
    out = Output(json)
    check_outputs([out_file, junit], [suite])
    plotting.check_plot(plot, [suite], [out_file, junit])
    with out.progress("benchmarking") as advance:
        report = lib.bench(
            ops=ops or None,
            backends=_names(backend),
            device=device,
            suite=suite,
            quick=quick,
            threads=threads,
            nproc=nproc,
            progress=advance,
        )
    if report is None:  # a torchrun rank other than 0: rank 0 reports
        return
    out.save(report, out_file)
    out.emit(report, lambda o: view.bench(o, report))
    plotting.write(out, plot, kernels_plot.plot_bench, report)
    write_junit(junit, "flyer kernels bench", report.checks())
    report.check()


@app.command()
def compare(
    baseline: Annotated[Path, typer.Argument(metavar="BASELINE", help="Results JSON of the baseline run.")],
    current: Annotated[Path, typer.Argument(metavar="CURRENT", help="Results JSON of the run to check.")],
    threshold: Annotated[
        str,
        typer.Option("--threshold", "-t", metavar="PCT", help="Slower by more than this fails (5% or 5)."),
    ] = "5%",
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Pass when baseline cases are missing from CURRENT or no case could be compared.",
        ),
    ] = False,
    junit: JunitOpt = None,
    plot: PlotOpt = None,
    json: JsonOpt = False,
) -> None:
    """Compare two bench results case by case; exit 1 when any median is slower than the threshold allows.

    Cases match by operation, backend and shape. A case that failed its check in CURRENT also fails the
    comparison. Results measured on different devices are skipped with a note, never compared. Baseline
    cases missing from CURRENT, or a comparison of nothing (every case skipped), fail too unless
    --allow-missing.

    Examples:
      flyer kernels compare base.json new.json
      flyer kernels compare base.json new.json --threshold 10% --json
      flyer kernels compare base.json new.json --junit kernels-gate.xml
      flyer kernels compare base.json subset.json --allow-missing --plot compare.svg
    """
    out = Output(json)
    check_outputs([junit], [baseline, current])
    plotting.check_plot(plot, [baseline, current], [junit])
    pct = lib.parse_threshold(threshold)
    result = lib.compare(lib.results.load(baseline), lib.results.load(current), threshold_pct=pct)
    record = result.report()
    out.emit(record, lambda o: view.compared(o, record))
    plotting.write(out, plot, kernels_plot.plot_compare, record)
    write_junit(junit, "flyer kernels compare", result.checks(allow_missing=allow_missing))
    result.check(allow_missing=allow_missing)
