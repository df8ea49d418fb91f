"""How `flyer fs3 bench` results look on a terminal."""

from __future__ import annotations

from ...io import format_size
from .._output import Output

VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def _published(o: Output, data: dict, unit: str) -> None:
    ref = data["published"]
    if ref is None:
        return
    o.line(
        f"published: {ref['figure']}; {ref['per_node']:.3g} {ref['unit']} x {ref['nodes']} = "
        f"{ref['scaled']:.3g} {unit}; measured {data['share']:.1%} of it",
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


def _notes(o: Output, data: dict) -> None:
    for note in data.get("notes", []):
        o.line(f"note: {note}", style="dim")


def io_result(o: Output, data: dict) -> None:
    lat = data["latency"]
    o.kv(
        {
            "path": data["path"],
            "pattern": f"{data['pattern']}, {format_size(data['block'])} blocks, {data['jobs']} jobs x "
            f"iodepth {data['iodepth']}, {'O_DIRECT' if data['direct'] else 'buffered'}",
            "engine": data["engine_version"],
            "moved": f"{format_size(data['bytes'])} in {data['seconds']:.3g} s",
            "throughput": f"{data['gib_s']:.3g} GiB/s",
            "IOPS": round(data["iops"]),
            "latency p50": _us(lat["p50_us"]),
            "latency p99": _us(lat["p99_us"]),
        }
    )
    _published(o, data, "GiB/s")
    _notes(o, data)


def meta_result(o: Output, data: dict) -> None:
    o.table(
        ["phase", "ops", "seconds", "ops/s", "latency p50", "latency p99"],
        [
            (
                p["name"],
                p["ops"],
                f"{p['seconds']:.3g}",
                round(p["ops_s"]),
                _us(p["latency"]["p50_us"]),
                _us(p["latency"]["p99_us"]),
            )
            for p in data["phases"]
        ],
        title=f"{data['path']}: {data['files']} files in {data['dirs']} directories, {data['jobs']} jobs",
    )
    _notes(o, data)


def sort_result(o: Output, data: dict) -> None:
    s, v = data["seconds"], data["validation"]
    o.kv(
        {
            "path": data["path"],
            "records": f"{data['records']:,} x 100 B = {format_size(data['bytes'])}, "
            f"{data['partitions']} partitions",
            "ray": f"{data['ray_address']}: {data['nodes']} nodes, {data['cpus']} CPUs",
            "sort rate": f"{data['gib_s']:.3g} GiB/s ({data['tib_per_min']:.3g} TiB/min)",
            "seconds": ", ".join(
                f"{k} {s[k]:.3g}" for k in ("ray_start", "generate", "sort", "validate", "total") if k in s
            ),
            "check": "passed" if v["ok"] else "FAILED: " + "; ".join(v["problems"]),
            "versions": ", ".join(f"{k} {x}" for k, x in data["versions"].items()),
        }
    )
    _published(o, data, "GiB/s")


def suite_result(o: Output, data: dict) -> None:
    rows = []
    for v in data["summary"]:
        limit = None if v["limit"] is None else f"{'<=' if v['maximum'] else '>='} {_num(v['limit'])}"
        share = None if v["share"] is None else f"{v['share']:.1%}"
        published = None if v["published"] is None else _num(v["published"])
        rows.append((v["label"], _num(v["measured"]), v["unit"], limit, published, share, v["status"]))
    o.table(
        ["figure", "measured", "unit", "threshold", "published", "share", "verdict"],
        rows,
        title=f"{data['path']} on {data['host']}",
    )
    c = data["counts"]
    verdict = "passed" if data["passed"] else "FAILED"
    o.line(
        f"{verdict}: {c['pass']} pass, {c['warn']} warn, {c['fail']} fail, "
        f"{c['unchecked']} without a threshold",
        style=VERDICT_STYLE["pass" if data["passed"] else "fail"],
    )
    for v in data["summary"]:
        if v["status"] in ("warn", "fail"):
            o.line(f"{v['status']}: {v['label']}: {v['why']}", style=VERDICT_STYLE[v["status"]])
