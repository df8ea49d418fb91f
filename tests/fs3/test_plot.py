"""``flyer fs3 plan chains --plot`` and ``flyer fs3 bench ... --plot``: the node-pair matrix of shared chains
(a cell per pair, binned past 256 nodes a side with the note) beside pairs by count against the balanced
target; a bench result beside the published figures scaled to the nodes used."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from fireflyer.commands.fs3_bench import RESULTS
from fireflyer.commands.views import fs3_plot
from fireflyer.fs3.bench import published
from fireflyer.fs3.bench.reports import (
    Aggregate,
    ClientNode,
    ClientRun,
    Comparison,
    IoClientsReport,
    IoReport,
    Spread,
    Window,
)
from fireflyer.fs3.reports import PlanReport
from tests.conftest import run_flyer
from tests.pictures import texts, written


def _chains(nodes: int, seed: int = 0) -> PlanReport:
    rng = np.random.default_rng(seed)
    blocks = np.stack([rng.choice(nodes, 3, replace=False) for _ in range(nodes * 4)]).tolist()
    return PlanReport(
        nodes=nodes,
        replication=3,
        targets_per_disk=12,
        chains_per_disk=nodes * 4,
        note=None,
        balanced=False,
        pair_count_target=(0, 1),
        pair_count_histogram={"0": 1, "1": 2, "2": 1},
        peer_traffic={"min": 0.0, "max": 1.0, "spread": None},
        method="test",
        steps=0,
        seconds=0.0,
        moved=0,
        disks=1,
        chains=nodes * 4,
        targets=nodes * 12,
        first_chain={"chain_id": 1, "targets": [1, 2, 3]},
        written=[],
        blocks=blocks,
    )


def test_pair_matrix_counts_each_pair_of_a_chain():
    total, pairs = fs3_plot.pair_matrix([[0, 1, 2], [0, 1, 3]], 4)
    assert total[0, 1] == total[1, 0] == 2 and total[2, 3] == 0 and total[0, 0] == 0
    assert pairs[0, 0] == 0 and pairs[0, 1] == 1


def test_chain_matrix_of_1000_nodes_is_aggregated_and_says_so(tmp_path):
    fig = fs3_plot.PLOTS["plan chains"](_chains(1000))
    image = fig.axes[0].get_images()[0]
    assert image.get_array().shape == (250, 250)  # never a 1000 x 1000 black square
    assert "each row = 4 nodes" in fig._suptitle.get_text()
    assert "node" in fig.axes[0].get_xlabel() and "pairs" in fig.axes[1].get_ylabel()
    written(fig, tmp_path, "chains")


def test_small_chain_matrix_has_a_cell_per_pair():
    fig = fs3_plot.PLOTS["plan chains"](_chains(25))
    assert fig.axes[0].get_images()[0].get_array().shape == (25, 25)
    assert "aggregated" not in fig._suptitle.get_text()


def _bench(where, *line: str):
    r = run_flyer("fs3", "bench", *line, "--json", cwd=str(where))
    assert r.returncode == 0, r.stderr
    return r


def test_bench_io_is_drawn_as_a_share_of_the_published_figure_with_its_source(tmp_path):
    r = _bench(tmp_path, "io", str(tmp_path), "--engine", "builtin", "--size", "16MiB", "--plot", "io.png")
    assert (tmp_path / "io.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "wrote io.png" in r.stderr
    rec = msgspec.json.decode(r.stdout, type=RESULTS["bench io"])
    fig = fs3_plot.PLOTS["bench io"](rec)
    (ax,) = fig.axes
    (bar,) = ax.patches
    assert bar.get_width() == pytest.approx(100 * rec.gib_s / rec.published.scaled)
    assert (
        ax.get_xlabel() == "measured / published (%)"
        and ax.get_yticklabels()[0].get_text() == "seq-read throughput"
    )
    (ref,) = ax.get_legend_handles_labels()[1]
    assert "github.com/deepseek-ai/3FS#performance" in ref  # the reference line names its source
    assert f"of {rec.published.scaled:.3g} GiB/s" in texts(fig)


def test_bench_meta_draws_each_phase_in_its_unit(tmp_path):
    r = _bench(tmp_path, "meta", str(tmp_path), "--files", "400", "--dirs", "4", "--plot", "meta.svg")
    rec = msgspec.json.decode(r.stdout, type=RESULTS["bench meta"])
    (ax,) = fig_axes = fs3_plot.plot_bench(rec).axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [p.name for p in rec.phases]
    assert len(ax.patches) == len(rec.phases) == 4 and ax.get_xlabel() == "measured (ops/s)"
    assert "no published figure" in (tmp_path / "meta.svg").read_text() and len(fig_axes) == 1


def test_bench_on_every_client_draws_the_aggregate_against_each_scaled_figure_and_each_client(tmp_path):
    one = msgspec.json.decode(
        _bench(tmp_path, "io", str(tmp_path), "--engine", "builtin", "--size", "8MiB").stdout, type=IoReport
    )
    runs = [
        ClientRun(node=ClientNode(host=f"client{i}", ip=f"10.0.0.{i}", node_id=str(i)), started_s=0.0,
                  ended_s=one.seconds, result=msgspec.structs.replace(one, gib_s=one.gib_s * (1 + i)))
        for i in range(3)
    ]  # fmt: skip
    total = sum(c.result.gib_s for c in runs)
    refs = published.io_cluster_references("seq-read", clients=3, storage_nodes=2)
    rec = IoClientsReport(
        path=str(tmp_path), ray_address="10.0.0.1:6379", window=Window(start_spread_s=0.0, wall_s=1.0),
        notes=[], pattern="seq-read", storage_nodes=2, clients=runs,
        aggregate=Aggregate(clients=3, bytes=1, ops=1, gib_s=total, iops=1.0, latency=Spread(
            p50_us_median=1.0, p99_us_median=1.0, p99_us_max=1.0)),
        published=[Comparison(published=x.report(), share=x.share(total)) for x in refs],
    )  # fmt: skip
    fig = fs3_plot.plot_bench(rec)
    shares, clients = fig.axes
    assert [b.get_width() for b in shares.patches] == pytest.approx([100 * total / x.scaled for x in refs])
    assert [t.get_text() for t in clients.get_yticklabels()] == ["client0", "client1", "client2"]
    assert "fs3 bench on 3 client nodes" in fig.get_suptitle()
    written(fig, tmp_path, "clients")
