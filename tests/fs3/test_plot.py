"""``flyer fs3 plan chains --plot`` and ``flyer fs3 bench ... --plot``: the node-pair matrix of shared chains
(a cell per pair, binned past 256 nodes a side with the note) beside pairs by count against the balanced
target; a bench result beside the published figures scaled to the nodes used."""

from __future__ import annotations

import numpy as np

from fireflyer.commands.views import fs3_plot
from fireflyer.fs3.reports import PlanReport
from tests.pictures import written


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
