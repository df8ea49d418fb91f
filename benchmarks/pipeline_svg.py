"""Timeline pictures at every size: which level of detail the SVG uses, its size, how long it takes to write
and to rasterise (cairosvg), for a small, a medium, a large and a huge schedule.

Targets (issue 10): PP 64 x N 1024 under 4 MiB; PP 512 x N 8192 within 30 s and 20 MiB.

    python benchmarks/pipeline_svg.py [--png DIR] [--json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _util import report

from fireflyer import pipeline as pp

CASES = [
    ("dualpipev", 4, 10),
    ("zb1p", 8, 20),
    ("dualpipe", 16, 128),
    ("dualpipe", 64, 1024),
    ("dualpipe", 512, 8192),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--png", type=Path, help="also write each picture as PNG into this directory")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for name, p, n in CASES:
        t0 = time.perf_counter()
        r = pp.simulate(name, p, n)
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        text = pp.svg(r.schedule, r.start, r.end, title=f"{name} PP={p} N={n}")
        t_svg = time.perf_counter() - t0
        mode = pp.svg_layout(r.schedule, r.start, r.end).mode
        t_png = None
        try:
            import cairosvg

            t0 = time.perf_counter()
            png = cairosvg.svg2png(bytestring=text.encode())
            t_png = time.perf_counter() - t0
            if a.png:
                a.png.mkdir(parents=True, exist_ok=True)
                (a.png / f"{name}-{p}-{n}.png").write_bytes(png)
        except ImportError:
            pass
        rows.append([f"{name} {p}x{n}", len(r.start), mode, len(text.encode()) / 2**20, t_sim, t_svg, t_png])
    report(
        "pipeline SVG timelines",
        ["schedule PPxN", "ops", "mode", "MiB", "simulate s", "svg s", "png s"],
        rows,
        a.json,
    )


if __name__ == "__main__":
    main()
