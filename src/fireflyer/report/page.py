"""Recognising a result document by its record, and the HTML page of several.

A document is recognised by decoding it into each command's record (``Candidate``), strictly: a key the
record does not have refuses it, at every level, whether or not the record itself forbids unknown fields.
The page is one file: CSS inline, each chart an inline ``<svg>`` (its ids prefixed per section, so two
charts never share one), no URL of any kind, the system's font stack; the same sections give the same bytes.
"""

from __future__ import annotations

import html as _html
import os
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from .. import io
from ..errors import InputError


class Candidate(msgspec.Struct, frozen=True):
    """A command that prints a record with ``--json``: ``flyer GROUP COMMAND`` and the record's type."""

    group: str
    command: str
    type: Any

    @property
    def name(self) -> str:
        return " ".join(w for w in ("flyer", self.group, self.command) if w)


class Table(msgspec.Struct, kw_only=True):
    """A section's key table: a few fields, as text."""

    columns: list[str]
    rows: list[list[str]]


class Section(msgspec.Struct, kw_only=True):
    """One document on the page."""

    file: str
    command: str
    """The command that made it: ``flyer GROUP COMMAND``, or its argv where the document carries one."""
    svg: str | None = None
    """The chart, an SVG document (None: the command has no picture)."""
    table: Table | None = None
    note: str | None = None


class Entry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    file: str
    command: str
    chart: bool


class ReportWritten(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`flyer report`: the page written and what is on it."""

    out: str
    bytes: int
    sections: list[Entry]


def _structured(info: Any) -> bool:
    """Whether a type holds a Struct (a bare ``list`` or ``dict`` would take any document)."""
    t = msgspec.inspect
    if isinstance(info, t.StructType):
        return True
    if isinstance(info, (t.ListType, t.TupleType, t.VarTupleType)):
        return _structured(info.item_type) if hasattr(info, "item_type") else False
    if isinstance(info, t.UnionType):
        return any(_structured(x) for x in info.types if not isinstance(x, t.NoneType))
    return False


def _unknown_key(doc: Any, known: Any, where: str = "") -> str | None:
    """The first key of ``doc`` absent from ``known`` (the record re-encoded) at the same place."""
    if isinstance(doc, dict) and isinstance(known, dict):
        for k, v in doc.items():
            if k not in known:
                return f"{where}.{k}" if where else k
            found = _unknown_key(v, known[k], f"{where}.{k}" if where else k)
            if found:
                return found
    elif isinstance(doc, list) and isinstance(known, list) and len(doc) == len(known):
        for i, (a, b) in enumerate(zip(doc, known)):
            found = _unknown_key(a, b, f"{where}[{i}]")
            if found:
                return found
    return None


def recognise(path: str | os.PathLike, candidates: Sequence[Candidate]) -> tuple[list[Candidate], Any]:
    """The commands whose record ``path`` decodes into exactly (several where they share a record), and
    the decoded record; an InputError naming the file when it is not JSON or matches none."""
    file = os.fspath(path)
    raw = io.read_bytes(file, what="result document", limit=io.LIMITS["document"])
    try:
        doc = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise InputError(f"not a JSON document: {e}", file=file) from None
    found: list[Candidate] = []
    record: Any = None
    for c in candidates:
        if not _structured(msgspec.inspect.type_info(c.type)):
            continue
        if found and c.type == found[0].type:
            found.append(c)
            continue
        try:
            decoded = msgspec.json.decode(raw, type=c.type)
        except msgspec.ValidationError:
            continue
        if _unknown_key(doc, msgspec.to_builtins(decoded)) is None and not found:
            found, record = [c], decoded
    if not found:
        raise InputError(
            "not the --json document of any flyer command (no command's record decodes it strictly)",
            file=file,
            hint="see `flyer schema GROUP COMMAND` for each command's document",
        )
    return found, record


def made_by(doc: Any, found: Sequence[Candidate]) -> str:
    """The document's own ``argv`` (a list of strings) where it carries one, else ``flyer GROUP COMMAND``
    (commands that print the same record are listed with ``|``)."""
    argv = getattr(doc, "argv", None)
    if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
        return " ".join(argv)
    first = found[0]
    return " | ".join([first.name, *(c.command for c in found[1:])])


CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #1a1a1a; background: #fff; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.15rem; margin: 0 0 .3rem; }
nav ol { columns: 2; font-size: .9rem; }
section { border-top: 1px solid #ccc; padding: 1rem 0 1.5rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: .85rem; }
pre { background: #f4f4f4; padding: .5rem .75rem; overflow-x: auto; white-space: pre-wrap; }
.chart svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .5rem; }
th, td { border-bottom: 1px solid #ddd; padding: .2rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.file, .note { color: #555; font-size: .85rem; }
"""


def _svg(svg: str, prefix: str) -> str:
    """An SVG document as an inline element: no XML prolog, DOCTYPE, RDF metadata or namespace URIs (HTML
    parsing gives inline SVG its namespaces), every id and reference prefixed."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", body, count=1, flags=re.S)
    body = re.sub(
        r"<svg\b[^>]*>", lambda m: re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", m.group(0)), body, count=1
    )
    return re.sub(r'(\bid="|url\(#|href="#)', rf"\g<1>{prefix}-", body)


def _table(t: Table) -> str:
    e = _html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
    rows = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>" for r in t.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def html(sections: Sequence[Section], title: str = "flyer report") -> str:
    """The page: a heading, a list of the sections, then each with its chart, key table and command."""
    e = _html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{len(sections)} result(s), each from the <code>--json</code> document of a flyer command.</p>",
        "<nav><ol>"
        + "".join(f'<li><a href="#s{i}">{e(s.command)}</a></li>' for i, s in enumerate(sections, 1))
        + "</ol></nav>",
    ]
    for i, s in enumerate(sections, 1):
        parts.append(f'<section id="s{i}"><h2>{i}. {e(s.command)}</h2>')
        parts.append(f'<p class="file">from <code>{e(s.file)}</code></p>')
        if s.svg is not None:
            parts.append(f'<figure class="chart" id="chart-{i}">{_svg(s.svg, f"c{i}")}</figure>')
        if s.table is not None and s.table.rows:
            parts.append(_table(s.table))
        if s.note:
            parts.append(f'<p class="note">{e(s.note)}</p>')
        parts.append(f"<pre>$ {e(s.command)}</pre></section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write(
    out: str | os.PathLike, sections: Sequence[Section], *, title: str = "flyer report"
) -> ReportWritten:
    """Write the page of ``sections`` to ``out`` atomically."""
    text = html(sections, title).encode()
    io.atomic_write(out, text)
    return ReportWritten(
        out=os.fspath(out),
        bytes=len(text),
        sections=[Entry(file=s.file, command=s.command, chart=s.svg is not None) for s in sections],
    )
