"""Helpers of the picture tests (tests/trace/test_trace_plot.py, tests/pipeline/test_pipeline_plot.py)."""

from __future__ import annotations

import time

from fireflyer.commands.views import plotting


def texts(fig) -> str:
    """Every text of a figure (titles, labels, annotations, legend entries), one per line."""
    return "\n".join(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")))


def fastest(draw, record, path) -> float:
    """The best of three draw-and-write times in seconds (a loaded machine slows one; the picture's cost is
    the least)."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        plotting.save(draw(record), path)
        best = min(best, time.perf_counter() - t)
    return best


def written(fig, directory, name: str) -> str:
    """Write ``fig`` as ``name``.png and ``name``.svg into ``directory``, check each is what its suffix says,
    and return the SVG's text (text stays text in the house style, so a test can look for a label)."""
    png = plotting.save(fig, directory / f"{name}.png")
    svg = plotting.save(fig, directory / f"{name}.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.read_text().lstrip().startswith("<?xml")
    return svg.read_text()
