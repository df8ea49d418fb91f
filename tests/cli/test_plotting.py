"""The shared ``--plot`` style (commands/views/plotting.py): heatmaps binned past 256 cells a side by max,
so a straggler stays, with the note; only .svg and .png, refused naming --plot. Each group's pictures are
tested beside the group (tests/<group>/test_plot.py)."""

from __future__ import annotations

import numpy as np
import pytest

from fireflyer.commands.views import plotting
from fireflyer.errors import InputError


def test_heatmap_bins_4096_layers_by_max_keeping_the_straggler():
    m = np.ones((4096, 256))
    m[4000, 200] = 3.0
    fig = plotting.figure()
    image, note = plotting.heatmap(fig.add_subplot(), m, row_unit="layers", col_unit="GPUs")
    shown = image.get_array()
    assert shown.shape == (256, 256) and shown.max() == 3.0
    assert note == "(aggregated: each row = 16 layers; the max of each)"


@pytest.mark.parametrize("name", ["plot.pdf", "plot", "plot.svg.txt"])
def test_other_suffixes_are_refused_naming_plot(tmp_path, name):
    with pytest.raises(InputError, match="--plot.*expected a file ending in .svg or .png"):
        plotting.check_plot(tmp_path / name)
