"""``flyer inference estimate --plot``: each layer's time split into compute, memory and communication, and
with --frontier the decode frontier against DeepSeek's published figures, their source named."""

from __future__ import annotations

from fireflyer import inference
from fireflyer.commands.views import inference_plot
from tests.pictures import written


def test_estimate_splits_each_layer_and_draws_the_frontier(tmp_path):
    e = inference.estimate("deepseek-v3-decode", frontier=True)
    fig = inference_plot.PLOTS["estimate"](e)
    layers, frontier = fig.axes[:2]
    assert len(layers.patches) == 3 * len(e.layers)  # compute, memory and communication per layer kind
    assert "µs" in layers.get_xlabel() and "tokens/s" in frontier.get_xlabel()
    assert any("Inference System Overview" in x for x in frontier.get_legend_handles_labels()[1])
    written(fig, tmp_path, "estimate")
