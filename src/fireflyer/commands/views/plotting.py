"""The one look of every ``--plot`` picture, and writing it.

Matplotlib is imported inside these functions, never at module level, so ``flyer --help`` and every command
run without ``--plot`` start as fast as before. Figures use the object API (``matplotlib.figure.Figure``
and the Agg/SVG canvases; no pyplot, no global figure manager), one palette that stays apart in grey and for
colour-blind readers (Okabe and Ito's eight colours, each series also with its own marker), one font
(DejaVu Sans, shipped with matplotlib, so pictures look the same on every machine) and byte-deterministic
files (a fixed SVG hash salt, no dates in the metadata).

Conventions every picture keeps: a title that says what is shown (and for what input), a unit on every
axis that has one, the source of every reference line (``reference``), and no black squares: a matrix
larger than ``MAX_CELLS`` a side is binned (``aggregate``) and the title says so (``aggregate_note``).
"""

from __future__ import annotations

import io as _stdio
import math
import os
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...compat import StrEnum
from ...errors import InputError
from ...io import atomic_write, check_outputs

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

    from .._output import Output

# Okabe & Ito (2008), "Color Universal Design": distinct for the common colour-vision deficiencies; the
# order puts the pairs that stay apart in grey first.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, SKY_BLUE, PURPLE, BLACK, YELLOW)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
GOOD, BAD, NEUTRAL = GREEN, VERMILLION, BLUE
"""Better / worse / neither (a regression is BAD with the ``BAD_MARKER``, so it shows without colour)."""
BAD_MARKER = "X"
SEQUENTIAL = "cividis"
"""The colour map of every heatmap: perceptually uniform, monotonic in lightness (reads in grey) and
designed for colour-vision deficiencies."""

MAX_CELLS = 256
"""The most rows or columns a heatmap draws; a larger matrix is binned (``aggregate``)."""
DPI = 150
FONT = "DejaVu Sans"
KEY_POINTS = 7
"""The size of a key's and a caption's text."""

_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
    "axes.grid": True,
    "grid.color": "#d0d0d0",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "image.cmap": SEQUENTIAL,
    "svg.hashsalt": "fireflyer",  # NOTE: fixed, or every SVG gets random clip-path ids
    "svg.fonttype": "none",  # text stays text: searchable, small, and tests can read it
    "path.simplify": True,
}


Aggregate = Literal["max", "mean", "sum"]
"""How a block of cells becomes one drawn cell."""


class Format(StrEnum):
    """What ``--plot FILE`` writes, chosen by the file's suffix."""

    SVG = "svg"
    PNG = "png"


def _mpl() -> Any:
    """matplotlib, imported on first use with this house's style applied (once per process)."""
    import matplotlib

    rc: Any = matplotlib.rcParams
    if rc.get("svg.hashsalt") != _RC["svg.hashsalt"]:
        rc.update(_RC)
    return matplotlib


def figure(width: float = 7.0, height: float = 4.2) -> Figure:
    """A new figure of ``width`` x ``height`` inches in the house style, laid out with constrained layout
    (labels never overlap or leave the picture)."""
    _mpl()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def format_of(path: str | os.PathLike) -> Format:
    """``.svg`` or ``.png`` (any case) from the name; anything else is refused naming ``--plot``."""
    suffix = Path(path).suffix.lower().lstrip(".")
    try:
        return Format(suffix)
    except ValueError:
        raise InputError(
            f"expected a file ending in .svg or .png, got {suffix and '.' + suffix or 'no suffix'}",
            file=os.fspath(path),
            field="--plot",
        ) from None


def render(fig: Figure, fmt: Format) -> bytes:
    """The picture's bytes: SVG (text kept as text) or PNG at ``DPI``; the same figure gives the same
    bytes on every run (no dates, no software version, a fixed hash salt)."""
    _mpl()
    buf = _stdio.BytesIO()
    if fmt is Format.SVG:
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        FigureCanvasSVG(fig).print_svg(buf, metadata={"Date": None, "Creator": None})
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        # NOTE: zlib level 3, not PIL's 6: a tenth faster to write, and these pictures come out smaller
        FigureCanvasAgg(fig).print_png(buf, metadata={"Software": None}, pil_kwargs={"compress_level": 3})
    return buf.getvalue()


def to_svg(fig: Figure) -> str:
    """The figure as an SVG document (for a page that embeds it inline)."""
    return render(fig, Format.SVG).decode()


def save(fig: Figure, path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Write ``fig`` to ``path``, SVG or PNG by its suffix, atomically; refused (exit 2) for another
    suffix or when ``path`` is one of the command's ``inputs``."""
    fmt = format_of(path)
    check_outputs([path], inputs)
    return atomic_write(path, render(fig, fmt))


def check_plot(
    path: str | os.PathLike | None,
    inputs: Iterable[str | os.PathLike | None] = (),
    outputs: Iterable[str | os.PathLike | None] = (),
) -> None:
    """Refuse a bad ``--plot`` before any work: a suffix other than .svg/.png, one of the command's
    ``inputs``, or the same file as another of its ``outputs``."""
    if path is not None:
        format_of(path)
        check_outputs([*outputs, path], inputs)


def write(out: Output, path: str | os.PathLike | None, draw: Callable[[Any], Figure], record: Any) -> None:
    """``--plot PATH``: draw ``record`` with ``draw``, write it (``save``) and say so on stderr; nothing
    without a path."""
    if path is None:
        return
    save(draw(record), path)
    out.hint(f"wrote {path}")


def bins(n: int, most: int = MAX_CELLS) -> int:
    """How many of ``n`` rows one drawn row stands for so that at most ``most`` are drawn (1: none
    binned)."""
    return max(1, math.ceil(n / most))


def aggregate(matrix: np.ndarray, rows: int = 1, cols: int = 1, how: Aggregate = "max") -> np.ndarray:
    """``matrix`` binned into blocks of ``rows`` x ``cols`` cells, each block one cell: its ``max`` (a
    straggler stays visible), ``mean`` or ``sum``. The last block of a side may be partial; NaN cells
    (nothing there) are skipped."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float64)
    if rows == 1 and cols == 1:
        return m
    r, c = m.shape
    nr, nc = math.ceil(r / rows), math.ceil(c / cols)
    padded = np.full((nr * rows, nc * cols), np.nan)
    padded[:r, :c] = m
    blocks = padded.reshape(nr, rows, nc, cols).swapaxes(1, 2).reshape(nr, nc, rows * cols)
    reducers: dict[str, Callable[..., Any]] = {"max": np.nanmax, "mean": np.nanmean, "sum": np.nansum}
    reducer = reducers[how]
    return np.asarray(reducer(blocks, axis=2))


def aggregate_note(
    rows: int = 1, cols: int = 1, row_unit: str = "rows", col_unit: str = "columns", how: Aggregate = "max"
) -> str:
    """``"(aggregated: each row = 16 layers, each column = 2 GPUs; the max of each)"``, or ``""`` when
    nothing was binned."""
    parts = [f"each row = {rows} {row_unit}"] if rows > 1 else []
    parts += [f"each column = {cols} {col_unit}"] if cols > 1 else []
    return f"(aggregated: {', '.join(parts)}; the {how} of each)" if parts else ""


def heatmap(
    ax: Axes,
    matrix: np.ndarray,
    *,
    row_unit: str,
    col_unit: str,
    how: Aggregate = "max",
    most: int = MAX_CELLS,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = SEQUENTIAL,
    norm: Any = None,
) -> tuple[AxesImage, str]:
    """Draw ``matrix`` (rows down, columns across) as cells, binned when a side is over ``most``; returns
    the image (for a colour bar) and the ``aggregate_note`` to put in the title. Cells are drawn without
    edges or interpolation, so one cell per value (or per block) is what the file holds. ``norm`` (a
    matplotlib Normalize) replaces ``vmin``/``vmax``."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float64)
    kr, kc = bins(m.shape[0], most), bins(m.shape[1], most)
    shown = aggregate(m, kr, kc, how)
    image = ax.imshow(
        shown,
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        **({"norm": norm} if norm is not None else {"vmin": vmin, "vmax": vmax}),
        origin="upper",
        extent=(0, m.shape[1], m.shape[0], 0),
    )
    ax.grid(False)
    return image, aggregate_note(kr, kc, row_unit, col_unit, how)


def reference(
    ax: Axes,
    value: float,
    label: str,
    source: str,
    *,
    axis: str = "y",
    color: str = BLACK,
    linestyle: str = "--",
) -> None:
    """A horizontal (``axis="y"``) or vertical reference line labelled with what it is and where the value
    comes from: ``label (source)`` in the legend."""
    draw = ax.axhline if axis == "y" else ax.axvline
    draw(value, color=color, linestyle=linestyle, linewidth=1.0, label=f"{label} ({source})")


def caption(fig: Figure, text: str) -> None:
    """Small lines under the picture (sources, the input, what a marker means), wrapped to its width and
    kept inside it by the constrained layout."""
    width = max(40, int(fig.get_figwidth() * 17))
    lines = [w for part in text.splitlines() for w in textwrap.wrap(part, width) or [""]]
    fig.supxlabel("\n".join(lines), fontsize=7, color="#444444", x=0.01, ha="left", multialignment="left")


def key(fig: Figure, lines: Sequence[str], *, title: str, most: int = 120) -> None:
    """A numbered key (``#1 b=4 s_k=512``...) under the picture, in as many columns as fit its width, at
    most ``most`` entries (the rest counted in its title); the figure grows to hold it."""
    from matplotlib.lines import Line2D

    shown = list(lines[:most])
    if len(lines) > most:
        title += f" (the first {most} of {len(lines)})"
    # NOTE: a legend entry per column, its lines joined (an entry per line took a third of a second at 84)
    chars = int(fig.get_figwidth() * 72 / (0.55 * KEY_POINTS)) - 4
    wide = max(map(len, shown), default=1) + 3
    cols = max(1, min(4, chars // wide))
    rows = math.ceil(len(shown) / cols)
    columns = ["\n".join(shown[c * rows : (c + 1) * rows]) for c in range(cols) if shown[c * rows :]]
    fig.set_figheight(fig.get_figheight() + (rows + 2) * KEY_POINTS * 1.25 / 72)
    fig.legend(
        [Line2D([], [], linestyle="none")] * len(columns),
        columns,
        loc="outside lower left",
        ncol=len(columns),
        handlelength=0,
        handletextpad=0,
        columnspacing=2.0,
        fontsize=KEY_POINTS,
        frameon=False,
        title=title,
        title_fontsize=KEY_POINTS,
        alignment="left",
    )


def heading(fig: Figure, what: str, *notes: str) -> None:
    """The figure's title over every panel: what is shown, then each note (an aggregation, the sources)
    on lines of its own, smaller and wrapped to the figure's width."""
    width = max(40, int(fig.get_figwidth() * 13))  # NOTE: characters of 9.5 points in an inch, about
    small = [w for n in notes if n for w in textwrap.wrap(n, width)]
    lines = textwrap.wrap(what, int(width * 0.95)) + small
    fig.suptitle("\n".join(lines), x=0.01, ha="left", fontsize=9.5 if small else 10)


def series(i: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``i``-th series (each differs from its neighbours in all
    three, so a grey print still tells them apart)."""
    return {
        "color": PALETTE[i % len(PALETTE)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
    }


def title(ax: Axes, what: str, note: str = "") -> None:
    """The axes' title: what is shown, then the aggregation note (if any) on its own line."""
    ax.set_title(f"{what}\n{note}" if note else what, loc="left")


def ticks(ax: Axes, labels: Sequence[str], *, axis: str = "x", most: int = 24) -> None:
    """Category labels at integer positions, thinned to at most ``most`` so they never overprint."""
    step = bins(len(labels), most)
    pos = list(range(0, len(labels), step))
    if axis == "x":
        ax.set_xticks(pos, [labels[i] for i in pos])
    else:
        ax.set_yticks(pos, [labels[i] for i in pos])
