"""How `flyer profiles` results look on a terminal."""

from __future__ import annotations

from typing import Any

from ...profiles.reports import Listed, Shown, Validation
from .._output import Output


def catalog(o: Output, rows: list[Listed]) -> None:
    o.table(
        ["name", "kind", "origin", "description"],
        [
            (d.name, d.kind, d.origin + (" (overrides shipped)" if d.overrides else ""), d.description)
            for d in rows
        ],
        justify=["left"] * 4,
    )


def show(o: Output, found: Shown, text: str) -> None:
    o.line(f"# {found.kind} profile {found.profile.name} from {found.path} ({found.origin})", style="dim")
    for s in found.overrides:
        o.line(f"# overrides {s}", style="dim")
    o.line(text.rstrip())


def validated(o: Output, checked: Validation) -> None:
    for r in checked.files:
        o.line(f"ok  {r.file}  ({r.kind} {r.name})")


def detected(o: Output, prof: Any) -> None:
    h = prof.host
    o.kv(
        {
            "name": prof.name,
            "cpu": h.cpu_model,
            "cores": f"{h.physical_cores} physical, {h.logical_cores} logical ({h.threads_used} used)",
            "memory": f"{h.memory_gib:.1f} GiB",
            "vector ISA": h.isa,
            "memory bandwidth": f"{prof.hbm_gbps:.1f} GB/s (triad, {h.triad_array_mib:.0f} MiB arrays)",
            "triad sizing": h.triad_sizing,
            "FP32 peak": f"{prof.peak_tflops.fp32 * 1000:.1f} GFLOP/s",
            "machine balance": f"{prof.peak_tflops.fp32 * 1000 / prof.hbm_gbps:.2f} FLOP/byte",
            "GPUs": ", ".join(f"{g.index}: {g.device_name} -> {g.profile or 'no profile'}" for g in h.gpus)
            or "none",
        },
        title="This machine",
    )
