"""What got slower between two traces (or two directories of per-rank traces): each kernel's time, and the
overlap figures, side by side.

Times are per profiler step when both sides have ``ProfilerStep`` annotations (so a capture of 3 steps
compares with one of 5), else per rank. Without device kernels on either side, CPU operators' self times
are compared instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import msgspec

from .analysis import RankFigures, percent, rank_figures, ranks_of, scan, trace_files


class Side(msgspec.Struct, kw_only=True):
    paths: list[str]
    files: int
    ranks: int
    steps: int


class Total(msgspec.Struct, kw_only=True):
    metric: str
    a: float
    b: float
    delta: float
    delta_pct: float | None


class Row(msgspec.Struct, kw_only=True):
    name: str
    kind: str  # compute, comm, memory (kernels) or op, comm (CPU operators)
    count_a: float
    count_b: float
    a_us: float
    b_us: float
    delta_us: float
    delta_pct: float | None  # None where the name is absent from A


class Comparison(msgspec.Struct, kw_only=True):
    a: Side
    b: Side
    per: str  # step or rank
    what: str  # kernels or cpu_ops
    totals: list[Total]
    rows: list[Row]
    only_in_a: int
    only_in_b: int


def _side(paths: Iterable[str | os.PathLike], patterns: Sequence[str] | None, threads: int):
    given = [os.fspath(p) for p in paths]
    files = trace_files(given)
    figures = scan(files, comm_patterns=patterns, top=0, threads=threads)
    ranks = ranks_of(figures)
    entries = [e for f, r in zip(figures, ranks) for e in rank_figures(f, r)]
    return given, files, figures, entries


def diff(
    a: Iterable[str | os.PathLike],
    b: Iterable[str | os.PathLike],
    *,
    comm_patterns: Sequence[str] | None = None,
    top: int = 20,
    threads: int = 0,
) -> Comparison:
    """Per-kernel time differences from ``a`` to ``b`` (files or directories), largest first (``top`` rows,
    0: all).

    Example::

        d = diff(["before/"], ["after/"])
        print(d.rows[0].name, d.rows[0].delta_us)
    """
    a_given, a_files, a_figs, a_entries = _side(a, comm_patterns, threads)
    b_given, b_files, b_figs, b_entries = _side(b, comm_patterns, threads)
    # CPU-only traces (their CPU figures come with them) compare operators instead of kernels.
    kernels = any(e.kernels or e.memory_ops for e in a_entries + b_entries)
    a_steps = sum(f.steps for f in a_figs)
    b_steps = sum(f.steps for f in b_figs)
    per_step = all(f.steps > 0 for f in a_figs + b_figs)
    a_den = a_steps if per_step else max(1, len(a_entries))
    b_den = b_steps if per_step else max(1, len(b_entries))

    def table(entries: list[RankFigures]) -> dict[str, tuple[str, float, float]]:
        out: dict[str, list] = {}
        for e in entries:
            items: list[tuple[str, str, int, float]] = []
            if kernels:
                items = [(k.name, k.kind, k.count, k.total_us) for k in e.top_kernels]
            elif e.cpu is not None:  # always: without kernels every entry carries its CPU figures
                items = [(o.name, "comm" if o.comm else "op", o.count, o.self_us) for o in e.cpu.top_ops]
            for name, kind, count, us in items:
                acc = out.setdefault(name, [kind, 0, 0.0])
                acc[1] += count
                acc[2] += us
        return {k: (v[0], v[1], v[2]) for k, v in out.items()}

    ta, tb = table(a_entries), table(b_entries)
    rows = []
    for name in sorted(set(ta) | set(tb)):
        kind, ca, ua = ta.get(name, ("", 0, 0.0))
        kind_b, cb, ub = tb.get(name, ("", 0, 0.0))
        va, vb = ua / a_den, ub / b_den
        rows.append(
            Row(
                name=name,
                kind=kind or kind_b,
                count_a=ca / a_den,
                count_b=cb / b_den,
                a_us=va,
                b_us=vb,
                delta_us=vb - va,
                delta_pct=percent(vb - va, va) if name in ta else None,
            )
        )
    rows.sort(key=lambda r: (-abs(r.delta_us), r.name))
    if top > 0:
        rows = rows[:top]

    def total(metric: str) -> Total:
        def value(entries: list[RankFigures], den: int) -> float:
            if kernels:
                return sum(getattr(e, metric) for e in entries) / den
            return sum(getattr(e.cpu, metric) for e in entries if e.cpu is not None) / den

        va, vb = value(a_entries, a_den), value(b_entries, b_den)
        return Total(metric=metric, a=va, b=vb, delta=vb - va, delta_pct=percent(vb - va, va))

    metrics = (
        ("busy_us", "compute_us", "comm_us", "overlap_us", "exposed_comm_us")
        if kernels
        else ("busy_us", "comm_us")
    )
    return Comparison(
        a=Side(paths=a_given, files=len(a_files), ranks=len(a_entries), steps=a_steps),
        b=Side(paths=b_given, files=len(b_files), ranks=len(b_entries), steps=b_steps),
        per="step" if per_step else "rank",
        what="kernels" if kernels else "cpu_ops",
        totals=[total(m) for m in metrics],
        rows=rows,
        only_in_a=len(set(ta) - set(tb)),
        only_in_b=len(set(tb) - set(ta)),
    )
