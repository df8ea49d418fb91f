"""How `flyer fs3 bench` results look on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...fs3.bench import reports
from ...io import format_size
from .._output import Output

if TYPE_CHECKING:
    from ...fs3.bench.reports import (
        Aggregate,
        ClientsBase,
        Comparison,
        IoClientsReport,
        IoReport,
        KvClientsReport,
        KvReport,
        MetaClientsReport,
        MetaReport,
        SortReport,
        SuiteReport,
    )

VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def _published(o: Output, r: IoReport | KvReport | SortReport, unit: str) -> None:
    ref = r.published
    if ref is None:
        return
    o.line(
        f"published: {ref.figure}; {ref.per_node:.3g} {ref.unit} x {ref.nodes} = "
        f"{ref.scaled:.3g} {unit}; measured {r.share:.1%} of it",
        style="dim",
    )


def _us(us: float | None) -> str | None:
    """Microseconds as '153 us' or '4.8 ms'."""
    if us is None:
        return None
    return f"{us:.3g} us" if us < 1000 else f"{us / 1000:.3g} ms"


def _num(v: float) -> str:
    """A measured figure: whole numbers with separators from 100 up, else 3 significant digits."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _notes(o: Output, r: IoReport | KvReport | MetaReport | ClientsBase) -> None:
    for note in r.notes:
        o.line(f"note: {note}", style="dim")


def io_result(o: Output, r: IoReport | IoClientsReport) -> None:
    if isinstance(r, reports.IoClientsReport):
        clients_result(o, r)
        return
    o.kv(
        {
            "path": r.path,
            "pattern": f"{r.pattern}, {format_size(r.block)} blocks, {r.jobs} jobs x "
            f"iodepth {r.iodepth}, {'O_DIRECT' if r.direct else 'buffered'}",
            "engine": r.engine_version,
            "moved": f"{format_size(r.bytes)} in {r.seconds:.3g} s",
            "throughput": f"{r.gib_s:.3g} GiB/s",
            "IOPS": round(r.iops),
            "latency p50": _us(r.latency.p50_us),
            "latency p99": _us(r.latency.p99_us),
        }
    )
    _published(o, r, "GiB/s")
    _notes(o, r)


def meta_result(o: Output, r: MetaReport | MetaClientsReport) -> None:
    if isinstance(r, reports.MetaClientsReport):
        meta_clients_result(o, r)
        return
    o.table(
        ["phase", "ops", "seconds", "ops/s", "latency p50", "latency p99"],
        [
            (p.name, p.ops, f"{p.seconds:.3g}", round(p.ops_s), _us(p.latency.p50_us), _us(p.latency.p99_us))
            for p in r.phases
        ],
        title=f"{r.path}: {r.files} files in {r.dirs} directories, {r.jobs} jobs",
    )
    _notes(o, r)


def sort_result(o: Output, r: SortReport) -> None:
    s, v = r.seconds, r.validation
    o.kv(
        {
            "path": r.path,
            "records": f"{r.records:,} x 100 B = {format_size(r.bytes)}, {r.partitions} partitions",
            "ray": f"{r.ray_address}: {r.nodes} nodes, {r.cpus} CPUs",
            "sort rate": f"{r.gib_s:.3g} GiB/s ({r.tib_per_min:.3g} TiB/min)",
            "seconds": ", ".join(
                f"{k} {s[k]:.3g}" for k in ("ray_start", "generate", "sort", "validate", "total") if k in s
            ),
            "check": "passed" if v.ok else "FAILED: " + "; ".join(v.problems),
            "versions": ", ".join(f"{k} {x}" for k, x in r.versions.items()),
        }
    )
    _published(o, r, "GiB/s")


def suite_result(o: Output, r: SuiteReport) -> None:
    rows = []
    for v in r.summary:
        limit = None if v.limit is None else f"{'<=' if v.maximum else '>='} {_num(v.limit)}"
        share = None if v.share is None else f"{v.share:.1%}"
        published = None if v.published is None else _num(v.published)
        rows.append((v.label, _num(v.measured), v.unit, limit, published, share, v.status))
    o.table(
        ["figure", "measured", "unit", "threshold", "published", "share", "verdict"],
        rows,
        title=f"{r.path} on {r.host}"
        if r.clients is None
        else f"{r.path} on {r.clients} clients of {r.ray_address}",
    )
    if r.clients is not None:
        o.line("aggregate of the clients: GiB/s, IOPS, ops/s summed; p99 the worst client's", style="dim")
    c = r.counts
    verdict = "passed" if r.passed else "FAILED"
    o.line(
        f"{verdict}: {c.pass_} pass, {c.warn} warn, {c.fail} fail, {c.unchecked} without a threshold",
        style=VERDICT_STYLE["pass" if r.passed else "fail"],
    )
    for v in r.summary:
        if v.status in ("warn", "fail"):
            o.line(f"{v.status}: {v.label}: {v.why}", style=VERDICT_STYLE[v.status])


def kvcache_result(o: Output, r: KvReport | KvClientsReport) -> None:
    if isinstance(r, reports.KvClientsReport):
        clients_result(o, r)
        return
    o.kv(
        {
            "path": r.path,
            "reads": f"{format_size(r.block)} blocks at random from {r.files} files of "
            f"{format_size(r.file_size)}, {r.concurrency} in flight ({r.jobs} jobs), "
            f"{'O_DIRECT' if r.direct else 'buffered'}",
            "engine": r.engine_version,
            "moved": f"{format_size(r.bytes)} in {r.seconds:.3g} s",
            "throughput": f"{r.gib_s:.3g} GiB/s",
            "IOPS": round(r.iops),
            "latency p50": _us(r.latency.p50_us),
            "latency p99": _us(r.latency.p99_us),
        }
    )
    _published(o, r, "GiB/s")
    _notes(o, r)


def _comparisons(o: Output, published: list[Comparison]) -> None:
    for c in published:
        p = c.published
        o.line(
            f"published: {p.figure}; {p.per_node:.3g} {p.unit} x {p.nodes} = {p.scaled:.3g} GiB/s; "
            f"measured {c.share:.1%} of it",
            style="dim",
        )


def _aggregate_row(a: Aggregate) -> tuple:
    s = a.latency
    return (
        f"all {a.clients}",
        "",
        f"{a.gib_s:.3g}",
        _num(a.iops),
        _us(s.p50_us_median),
        _us(s.p99_us_max),
        "",
    )


def _window(o: Output, r: ClientsBase) -> None:
    w = r.window
    o.line(
        f"started within {w.start_spread_s:.3g} s of each other; {w.wall_s:.3g} s from the first start "
        "to the last end",
        style="dim",
    )


def clients_result(o: Output, r: IoClientsReport | KvClientsReport) -> None:
    """io or kvcache on every client: one row per client node and the aggregate (the sum)."""
    rows: list[tuple] = [
        (
            c.node.host,
            c.node.node_id[:8],
            f"{c.result.gib_s:.3g}",
            _num(c.result.iops),
            _us(c.result.latency.p50_us),
            _us(c.result.latency.p99_us),
            f"{c.started_s:.2f}",
        )
        for c in r.clients
    ]
    rows.append(_aggregate_row(r.aggregate))
    what = getattr(r, "pattern", "kvcache")
    o.table(
        ["client", "node", "GiB/s", "IOPS", "p50", "p99", "start s"],
        rows,
        title=f"{r.path}: {what} on {len(r.clients)} clients of {r.ray_address}",
    )
    o.line("all: GiB/s and IOPS summed; p50 the median client's, p99 the worst client's", style="dim")
    _window(o, r)
    _comparisons(o, r.published)
    _notes(o, r)


def meta_clients_result(o: Output, r: MetaClientsReport) -> None:
    o.table(
        ["phase", "ops", "ops/s", "p50 median", "p99 median", "p99 worst"],
        [
            (
                p.name,
                p.ops,
                round(p.ops_s),
                _us(p.latency.p50_us_median),
                _us(p.latency.p99_us_median),
                _us(p.latency.p99_us_max),
            )
            for p in r.phases
        ],
        title=f"{r.path}: metadata on {len(r.clients)} clients of {r.ray_address}",
    )
    names = [p.name for p in r.phases]
    o.table(
        ["client", "node", *(f"{n} ops/s" for n in names)],
        [(c.node.host, c.node.node_id[:8], *(round(p.ops_s) for p in c.result.phases)) for c in r.clients],
    )
    _window(o, r)
    _notes(o, r)
