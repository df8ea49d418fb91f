"""The one output object every command writes through.

Data goes to stdout, hints and progress to stderr. In JSON mode stdout carries exactly one JSON
document and nothing else. Rich decides colour: only on a TTY, never with NO_COLOR set.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..io import atomic_write, dumps_json


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader left (`flyer ... | head`): raise BrokenPipeError for the CLI boundary, which exits 0
        (Rich itself would exit 1)."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())
        raise BrokenPipeError


def _console(stderr: bool) -> Console:
    """Styles only on a terminal (or with FORCE_COLOR); colour never with NO_COLOR set."""
    stream = sys.stderr if stderr else sys.stdout
    no_color = bool(os.environ.get("NO_COLOR"))
    styled = stream.isatty() or (bool(os.environ.get("FORCE_COLOR")) and not no_color)
    # NOTE: a fixed width when not on a TTY keeps piped tables identical between runs and terminals.
    width = None if stream.isatty() else int(os.environ.get("COLUMNS") or 120)
    return _Console(
        file=stream,
        stderr=stderr,
        highlight=False,
        width=width,
        soft_wrap=False,
        force_terminal=styled,
        color_system="auto" if styled else None,
        no_color=no_color,
    )


class Output:
    """Commands call ``out.emit(data, render)``, ``out.table(...)``, ``out.hint(...)``; never ``print``."""

    def __init__(self, json_mode: bool = False):
        self.json_mode = json_mode
        self.console = _console(stderr=False)
        self.err = _console(stderr=True)

    # Data -------------------------------------------------------------------------------------
    def emit(self, data: Any, render: Callable[[Output], None] | None = None) -> None:
        """The command's result: JSON of ``data`` in JSON mode, else ``render(self)`` (or a key table)."""
        if self.json_mode:
            sys.stdout.write(dumps_json(data))
            sys.stdout.flush()
        elif render is not None:
            render(self)
        elif isinstance(data, Mapping):
            self.kv(data)
        elif isinstance(data, msgspec.Struct):
            self.kv(msgspec.structs.asdict(data))
        else:
            self.console.print(data)

    def save(self, data: Any, path: str | os.PathLike | None) -> None:
        """``--out FILE``: the JSON document --json prints, written atomically (nothing without a path)."""
        if path is not None:
            atomic_write(path, dumps_json(data))
            self.hint(f"wrote {path}")

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        title: str | None = None,
        justify: Sequence[str] | None = None,
        caption: str | None = None,
        keys: int = 1,
    ) -> None:
        """A table; its first ``keys`` columns identify a row and are never shortened (the others wrap
        rather than lose their ends when the terminal is narrow)."""
        cells = [[fmt(v) for v in row] for row in rows]
        t = Table(
            title=title,
            caption=caption,
            header_style="bold",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        for i, col in enumerate(columns):
            just = justify[i] if justify else ("left" if i == 0 else "right")
            if i < keys:
                width = max([len(col), *(len(r[i]) for r in cells)])
                t.add_column(col, justify=just, no_wrap=True, min_width=width)  # type: ignore[arg-type]
            else:
                t.add_column(col, justify=just, overflow="fold", min_width=min(len(col), 9))  # type: ignore[arg-type]
        for row in cells:
            t.add_row(*(Text(c) for c in row))  # cells are data, never markup
        self.console.print(t)

    def kv(self, mapping: Mapping[str, Any], *, title: str | None = None) -> None:
        t = Table(title=title, show_header=False, box=None, title_justify="left", pad_edge=False)
        t.add_column("key", style="bold")
        t.add_column("value")
        for k, v in mapping.items():
            t.add_row(Text(str(k)), Text(fmt(v)))
        self.console.print(t)

    def line(self, text: str = "", *, style: str | None = None) -> None:
        """One line of human output on stdout (suppressed in JSON mode)."""
        if not self.json_mode:
            # NOTE: plain text, never Rich markup: YAML flow lists like [a, b] must print as they are.
            self.console.print(text, style=style, markup=False, soft_wrap=True)

    # Side channel -----------------------------------------------------------------------------
    def hint(self, text: str) -> None:
        """A note for the person at the terminal, on stderr (shown in JSON mode too)."""
        self.err.print(text, style="dim", markup=False, soft_wrap=True)

    def warn(self, text: str) -> None:
        self.err.print(f"warning: {text}", style="yellow", markup=False, soft_wrap=True)

    @contextlib.contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
        """A progress bar on stderr when stderr is a terminal; yields ``advance(n=1, description=None)``."""
        if not self.err.is_terminal:
            yield lambda *a, **k: None
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=total)

            def advance(n: float = 1, description: str | None = None) -> None:
                bar.update(task, advance=n, description=description or None)  # None keeps the description

            yield advance


def fmt_pct(v: float | None) -> str | None:
    """A percentage to one decimal, None (a dash in tables) when there is none."""
    return None if v is None else f"{v:.1f}%"


def fmt(v: Any) -> str:
    """Human formatting of one cell: floats to 4 significant digits, None as a dash."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:,.4g}" if abs(v) >= 1000 else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x) for x in v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={fmt(x)}" for k, x in v.items())
    return str(v)
