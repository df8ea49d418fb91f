"""Benchmark suites: YAML files listing cases, where a list value means one case per value.

    name: quick
    description: sized for a 2-core CPU
    cases:
      - {op: mla, b: 4, s_k: 1024, h_q: [16, 64], s_q: [1, 2]}   # 4 cases
      - {op: gemm, layout: dense, m: 64, n: 512, k: 1024}

Several list values expand to their product. A field whose value is itself a list (``group_rows``) expands
over a list of lists. The shipped suites (``default``: the anchors' own shape sets; ``quick``: sized for a
2-core CPU) live beside this module.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import io
from ..errors import InputError
from .cases import CASE_TYPES, OPS, Case

SHIPPED_DIR = Path(__file__).parent / "suites"
MAX_CASES = 10_000
LIST_FIELDS = frozenset({"group_rows"})
"""Fields whose single value is a list; a list of lists expands them."""


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    cases: tuple[Case, ...]
    path: str


def shipped() -> list[str]:
    """Names of the shipped suites."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


def _expand(entry: dict[str, Any], room: int) -> list[dict[str, Any]]:
    """One case per combination of the list values, counted before any is made (at most ``room``)."""
    axes: list[tuple[str, list[Any]]] = []
    for key, value in entry.items():
        many = isinstance(value, list) and (
            key not in LIST_FIELDS or (bool(value) and all(isinstance(v, list) for v in value))
        )
        axes.append((key, value if many else [value]))
    for key, values in axes:
        if not values:
            raise InputError("an empty list expands to no cases", field=key)
    count = math.prod(len(v) for _, v in axes)
    if count > room:
        sizes = " x ".join(str(len(v)) for _, v in axes if len(v) > 1)
        raise InputError(f"expands to {count:,} cases ({sizes}); a suite holds at most {MAX_CASES:,}")
    return [dict(zip((k for k, _ in axes), combo)) for combo in itertools.product(*(v for _, v in axes))]


def parse(data: Any, *, file: str) -> Suite:
    """Validate a parsed suite document and expand its cases; errors name the file and ``cases[i].field``."""
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping with name and cases, got {type(data).__name__}", file=file)
    unknown = sorted(set(data) - {"name", "description", "cases"})
    if unknown:
        raise InputError("unknown field; expected name, description and cases", file=file, field=unknown[0])
    name, cases = data.get("name"), data.get("cases")
    if not isinstance(name, str) or not name:
        raise InputError("expected a non-empty string", file=file, field="name")
    if not isinstance(cases, list) or not cases:
        raise InputError("expected a non-empty list of cases", file=file, field="cases")
    out: list[Case] = []
    for i, entry in enumerate(cases):
        where = f"cases[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"expected a mapping, got {type(entry).__name__}", file=file, field=where)
        op = entry.get("op")
        if op not in CASE_TYPES:
            raise InputError(
                f"unknown operation {op!r}; expected one of {', '.join(OPS)}", file=file, field=f"{where}.op"
            )
        try:
            expanded = _expand({k: v for k, v in entry.items() if k != "op"}, MAX_CASES - len(out))
        except InputError as e:
            raise InputError(e.message, file=file, field=f"{where}.{e.field}" if e.field else where) from None
        out.extend(io.convert({"op": op, **one}, CASE_TYPES[op], file=file, field=where) for one in expanded)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise InputError("expected a string", file=file, field="description")
    return Suite(name=name, description=description, cases=tuple(out), path=file)


def load(spec: str | os.PathLike) -> Suite:
    """A suite from a YAML or JSON file, or a shipped suite by name (``default``, ``quick``)."""
    text = os.fspath(spec)
    if text in shipped():
        path = SHIPPED_DIR / f"{text}.yaml"
    else:
        path = Path(text)
        if io.format_of(path) is None and not path.exists():
            raise InputError(
                f"no suite file or shipped suite named {text!r}; shipped: {', '.join(shipped())}",
                field="suite",
            )
    return parse(io.load_document(path, what="suite file", limit=io.LIMITS["suite"]), file=str(path))
