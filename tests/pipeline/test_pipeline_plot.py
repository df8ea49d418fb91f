"""`flyer pipeline compare/sweep --plot`: one bar per schedule with the published formula's bubble beside it;
a point per case of a sweep, a line per schedule, a panel per PP (thinned past six, said in the title);
each picture written in under a second."""

from __future__ import annotations

import msgspec

from fireflyer import pipeline as lib
from fireflyer.commands.views import pipeline_plot as pp
from tests.conftest import run_flyer
from tests.pictures import fastest, texts

TIMES = lib.ChunkTimes(f=1, b=2, w=1)


def test_compare_has_one_bar_per_schedule_and_the_formula(tmp_path):
    c = lib.compare(8, 20, TIMES)
    fig = pp.compared(c)
    (ax,) = fig.axes
    (bars,) = ax.containers
    names = [r.schedule for r in c.schedules]
    assert [t.get_text() for t in ax.get_xticklabels()] == names == [s.value for s in lib.ScheduleName]
    assert [b.get_height() for b in bars] == [100 * r.bubble_fraction for r in c.schedules]
    assert ax.get_ylabel() == "bubble (% of makespan)" and "schedule" in ax.get_xlabel()
    (formula,) = ax.collections
    assert len(formula.get_offsets()) == sum(r.formula_bubble is not None for r in c.schedules)
    assert fastest(pp.compared, c, tmp_path / "compare.png") < 1.0


def test_compare_says_which_schedules_cannot_run():
    c = lib.compare(3, 8, TIMES)  # odd stages: DualPipe and the V shapes cannot run
    fig = pp.compared(c)
    assert texts(fig).count("cannot run") == sum(r.error is not None for r in c.schedules) > 0
    assert pp.compared(msgspec.to_builtins(c)).axes[0].get_title(loc="left") == fig.axes[0].get_title(
        loc="left"
    )


def test_sweep_draws_a_point_per_case_a_line_per_schedule_a_panel_per_pp():
    rows = lib.sweep(
        ["1f1b", "zb1p", "dualpipe"], ranks=[4, 8, 16], microbatches=[32, 64, 96], f=[1], b=[2], w=[1]
    )
    fig = pp.swept(rows)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in axes] == ["PP = 4", "PP = 8", "PP = 16"]
    assert all(ax.get_xlabel() == "micro-batches per step (N)" for ax in axes)
    assert axes[0].get_ylabel().startswith("bubble (% of makespan")
    points = sum(len(line.get_xdata()) for ax in axes for line in ax.get_lines())
    assert points == len([r for r in rows if r.error is None]) == 27
    assert all(len(ax.get_lines()) == 3 for ax in axes)


def test_sweep_over_pp_alone_and_many_values_thins_the_panels(tmp_path):
    many_n = list(range(32, 545, 32))
    rows = lib.sweep(
        ["1f1b", "dualpipe"], ranks=list(range(2, 18, 2)), microbatches=many_n, f=[1], b=[2], w=[1]
    )
    fig = pp.swept(rows)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == pp.MAX_PANELS and "6 of 8 PP values shown" in fig.get_suptitle()
    two_n = lib.sweep(["1f1b"], ranks=list(range(2, 34, 2)), microbatches=[64, 128], f=[1], b=[2], w=[1])
    # the axis with more values goes across: PP here, a panel per N
    assert [ax.get_title(loc="left") for ax in pp.swept(two_n).axes] == ["N = 64", "N = 128"]
    one_n = lib.sweep(["1f1b"], ranks=list(range(2, 34, 2)), microbatches=[64], f=[1], b=[2], w=[1, 0.5])
    fig = pp.swept(one_n)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert ax.get_xlabel() == "pipeline ranks (PP)" and "median over 2" in fig.get_suptitle()
    big = lib.sweep(
        lib.sweep_names("all"),
        ranks=[4, 8, 16, 32],
        microbatches=list(range(64, 1025, 64)),
        f=[1],
        b=[2],
        w=[1],
    )
    assert fastest(pp.swept, big, tmp_path / "sweep.png") < 1.0


def test_cli_plots_with_and_without_out(tmp_path):
    png = tmp_path / "bubble.png"
    res = run_flyer(
        "pipeline",
        "sweep",
        "--ranks",
        "4,8",
        "-n",
        "8:32:8",
        "--out",
        str(tmp_path / "s.csv"),
        "--plot",
        str(png),
    )
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "s.csv").exists()
    res = run_flyer("pipeline", "compare", "--plot", str(tmp_path / "c.svg"), "--json")
    assert res.returncode == 0 and "<svg" in (tmp_path / "c.svg").read_text()
    assert msgspec.json.decode(res.stdout, type=lib.ScheduleComparison)  # stdout is the JSON alone
    res = run_flyer("pipeline", "sweep", "--out", str(tmp_path / "x.png"), "--plot", str(tmp_path / "x.png"))
    assert res.returncode == 2
