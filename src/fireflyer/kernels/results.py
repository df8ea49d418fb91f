"""The results document of `flyer kernels bench`, and `compare` between two of them.

One JSON document: the environment it ran in, the roof it was measured against, and one result per
(case, backend) with the median time, FLOPs, bytes, achieved rates, percentages of the roof and the
correctness check. ``compare`` matches results by (op, backend, shape) and flags every case whose median
is slower than the baseline's by more than a threshold. Torch-free.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from .. import io
from ..errors import CheckFailed, InputError
from ..gates import Check
from .cases import CASE_TYPES

SCHEMA = "fireflyer.kernels.bench/1"
NonNeg = Annotated[float, Meta(ge=0)]
"""Times, counts and rates: a negative one in a results file is refused (exit 2 naming the field)."""


class _S(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=False):
    pass


class Result(_S):
    op: str
    backend: str
    device: str
    """Where it ran: ``cpu (Intel Xeon ..., 2 threads)`` or ``cuda (NVIDIA H800)``."""
    shape: dict[str, Any]
    median_us: NonNeg | None
    """None when the result was not timed (it failed its correctness check)."""
    p20_us: NonNeg | None
    p80_us: NonNeg | None
    flops: NonNeg
    bytes: NonNeg
    tflops: NonNeg | None
    gbps: NonNeg | None
    pct_peak_flops: float | None
    """Percent of the roof's peak FLOP rate for ``peak_dtype``; None when the operation does no FLOPs or the
    roof has no such peak."""
    pct_peak_bw: float | None
    correct: bool
    error_metric: float | None
    error_kind: str
    """What ``error_metric`` is: ``cos_diff`` (mla: out vs reference), ``calc_diff`` (gemm, ep)."""
    best_us: NonNeg | None = None
    samples: int = 0
    warmup: int = 0
    threads: int | None = None
    l2_flushed: bool = False
    peak_dtype: str | None = None
    bw_roof: str = "memory"
    """Which bandwidth ``pct_peak_bw`` is of: ``memory``, or ``link`` (expert-parallel traffic)."""
    check: dict[str, Any] = {}
    notes: list[str] = []
    ranks: list[dict[str, Any]] = []
    """ep: each rank's median and bytes (the result is the slowest rank's)."""

    def key(self) -> tuple[str, str, str]:
        return self.op, self.backend, json.dumps(self.shape, sort_keys=True)


class Skipped(_S):
    op: str
    backend: str
    reason: str
    shape: dict[str, Any] | None = None
    """The case, where this one case was skipped; None where the backend runs nothing here."""
    status: Literal["unavailable", "unsupported"] = "unavailable"
    """``unavailable``: the backend cannot run here at all; ``unsupported``: it cannot run this case (a shape
    its library refuses, memory it would need)."""

    def __post_init__(self) -> None:
        if self.shape is not None:
            self.status = "unsupported"


class Report(_S):
    schema: str
    suite: dict[str, Any]
    env: dict[str, Any]
    roof: dict[str, Any] | None
    results: list[Result]
    skipped: list[Skipped] = []
    notes: list[str] = []

    def __post_init__(self) -> None:
        if self.schema != SCHEMA:
            raise ValueError(f"expected {SCHEMA!r}, got {self.schema!r}")

    def incorrect(self) -> list[Result]:
        return [r for r in self.results if not r.correct]

    @property
    def roof_enforced(self) -> bool:
        """Whether a result above the roof fails the run: a published GPU peak is a ceiling; a measured
        CPU roof (``enforced: false``) only a lower bound of the machine."""
        return self.roof is None or bool(self.roof.get("enforced", True))

    def check(self) -> None:
        """Raise CheckFailed (exit 1) when a result failed its check or exceeds its enforced roof (a bug)."""
        problems = [f"{describe(r)} failed its check" for r in self.incorrect()]
        problems += [
            f"{describe(r)} reached {pct:.1f}% of the {which} roof: a bug in the kernel, the formula or the "
            "hardware profile"
            for r, which, pct in (self.over_roof() if self.roof_enforced else [])
        ]
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise CheckFailed(problems[0] + more)

    def over_roof(self) -> list[tuple[Result, str, float]]:
        """Results above 100% of their roof: (result, which, percent)."""
        out = []
        for r in self.results:
            for which, pct in (("peak FLOP rate", r.pct_peak_flops), ("bandwidth", r.pct_peak_bw)):
                if pct is not None and pct > 100.0:
                    out.append((r, which, pct))
        return out

    def checks(self) -> list[Check]:
        """The gate as JUnit testcases: each result's correctness check (its error against the tolerance)
        and, where the roof is enforced, its percentage of the roof; each skipped case, skipped."""
        out = []
        for r in self.results:
            tol = r.check.get("tolerance")
            limit = float(tol) if isinstance(tol, (int, float)) else None
            why = "" if r.correct else f"failed its check ({r.error_kind})"
            group = f"kernels.bench.{r.op}.{r.backend}"
            name = shape_label(r.op, r.shape) or "default"
            out.append(
                Check(
                    name=f"{name} correct",
                    classname=group,
                    passed=r.correct,
                    figure=r.error_metric,
                    limit=limit,
                    message=why,
                )
            )
            if self.roof_enforced:
                for which, pct in (("flops", r.pct_peak_flops), ("bandwidth", r.pct_peak_bw)):
                    if pct is not None:
                        out.append(
                            Check(
                                name=f"{name} {which} roof",
                                classname=group,
                                passed=pct <= 100.0,
                                figure=pct,
                                limit=100.0,
                                unit="%",
                                message="" if pct <= 100.0 else "above 100% of the roof: a bug",
                            )
                        )
        for k in self.skipped:
            name = shape_label(k.op, k.shape) if k.shape else "all shapes"
            out.append(
                Check(
                    name=name or "default",
                    classname=f"kernels.bench.{k.op}.{k.backend}",
                    passed=None,
                    message=k.reason,
                )
            )
        return out


@functools.cache
def _defaults(op: str) -> Mapping[str, Any]:
    """The case type's defaults, once per operation (msgspec.structs.fields reads the class's annotations
    each call: half a millisecond, a sixth of a full suite's roofline picture before this cache)."""
    return MappingProxyType(
        {
            f.name: f.default
            for f in msgspec.structs.fields(CASE_TYPES[op])
            if f.default is not msgspec.NODEFAULT
        }
    )


def shape_label(op: str, shape: dict[str, Any]) -> str:
    """The fields of a shape that differ from the case's defaults, compactly (``b=128 s_k=4096 h_q=16``)."""
    defaults = _defaults(op) if op in CASE_TYPES else {}
    bits = []
    for k, v in shape.items():
        if k in defaults and defaults[k] == v or k == "seed" and v == 0 or k == "ranks":
            continue
        if k == "phase":
            bits.append(str(v))
            continue
        if k in ("causal",) and v is not None and v == (shape.get("mode", "dense") == "dense"):
            continue
        if v is True:
            bits.append(k)
        elif v is not None and v is not False:
            bits.append(f"{k}={v if not isinstance(v, list) else ','.join(map(str, v))}")
    return " ".join(bits)


def shape_text(shape: dict[str, Any]) -> str:
    """A shape as ``k=v, ...`` (seed and unset fields left out), for messages."""
    return ", ".join(f"{k}={v}" for k, v in shape.items() if v is not None and k != "seed")


def describe(r: Result) -> str:
    return f"{r.op} {r.backend} ({shape_text(r.shape)})"


def load(path: str | os.PathLike) -> Report:
    """A results document written by `flyer kernels bench --out` (or its --json output)."""
    data = io.load_document(path, what="results file", fmt="json")
    if isinstance(data, dict) and "schema" in data and data["schema"] != SCHEMA:
        raise InputError(
            f"expected a {SCHEMA!r} document, got {data['schema']!r}", file=str(path), field="schema"
        )
    return io.convert(data, Report, file=str(path))


class Row(Struct, forbid_unknown_fields=True):
    """One case of a comparison."""

    op: str
    backend: str
    shape: dict[str, Any]
    status: str
    """slower, faster, same, incorrect, new (only in current), missing (only in baseline), skipped."""
    baseline_us: float | None
    current_us: float | None
    change_pct: float | None
    """(current - baseline) / baseline, in percent."""
    note: str | None = None


class CompareReport(_S):
    """`flyer kernels compare`: every case of the two runs, the counts by status and the notes."""

    threshold_pct: float
    baseline_device: str
    current_device: str
    counts: dict[str, int]
    """Rows by status."""
    regressions: int
    """Rows slower than the threshold allows or incorrect: the comparison fails when there are any."""
    rows: list[Row]
    notes: list[str]


@dataclass(frozen=True)
class Comparison:
    threshold_pct: float
    rows: list[Row]
    notes: list[str]
    baseline_device: str
    current_device: str

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.status in ("slower", "incorrect")]

    @property
    def compared(self) -> list[Row]:
        """Rows whose two medians were compared (or whose current result failed its check)."""
        return [r for r in self.rows if r.status in ("slower", "faster", "same", "incorrect")]

    def gap(self) -> str | None:
        """Why this comparison does not cover the baseline, or None: baseline cases missing from the
        current run, or no case compared at all (every one skipped: the devices differ). A gate that
        compared nothing must not pass unless asked to (``--allow-missing``)."""
        missing = [r for r in self.rows if r.status == "missing"]
        if missing:
            first = f"{missing[0].op} {missing[0].backend} ({shape_text(missing[0].shape)})"
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            return f"{len(missing)} baseline cases are missing from CURRENT: {first}{more}"
        if not self.compared:
            skipped = sum(1 for r in self.rows if r.status == "skipped")
            why = f" ({skipped} skipped: measured on different devices)" if skipped else ""
            return f"no case was compared{why}"
        return None

    def check(self, *, allow_missing: bool = False) -> None:
        """Raise CheckFailed (exit 1) when a case regressed, or (unless ``allow_missing``) when the comparison
        does not cover the baseline."""
        bad = self.regressions
        if bad:
            worst = max(bad, key=lambda r: r.change_pct if r.change_pct is not None else float("inf"))
            how = f"{worst.change_pct:+.1f}%" if worst.change_pct is not None else "failed its check"
            raise CheckFailed(
                f"{len(bad)} cases regressed beyond {self.threshold_pct:g}%; worst: {self.label(worst)} {how}"
            )
        gap = self.gap()
        if gap and not allow_missing:
            raise CheckFailed(f"{gap}; --allow-missing accepts that")

    def checks(self, *, allow_missing: bool = False) -> list[Check]:
        """The gate as JUnit testcases, one per case: slower or incorrect fails (the change against the
        threshold), missing fails unless ``allow_missing``, new and skipped cases are skipped."""
        out = []
        for r in self.rows:
            passed: bool | None = r.status in ("faster", "same")
            if r.status in ("new", "skipped") or (r.status == "missing" and allow_missing):
                passed = None
            why = {
                "slower": "slower than the baseline",
                "incorrect": "failed its check",
                "missing": "in the baseline, missing from CURRENT",
                "new": "not in the baseline",
            }
            out.append(
                Check(
                    name=shape_label(r.op, r.shape) or "default",
                    classname=f"kernels.compare.{r.op}.{r.backend}",
                    passed=passed,
                    figure=r.change_pct,
                    limit=self.threshold_pct,
                    unit="%",
                    message=r.note or why.get(r.status, ""),
                )
            )
        if not self.compared and not allow_missing:
            out.append(
                Check(
                    name="cases compared",
                    classname="kernels.compare",
                    passed=False,
                    figure=0,
                    limit=1,
                    message=self.gap() or "no case was compared",
                )
            )
        return out

    @staticmethod
    def label(r: Row) -> str:
        return f"{r.op} {r.backend} ({shape_label(r.op, r.shape)})"

    def report(self) -> CompareReport:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        return CompareReport(
            threshold_pct=self.threshold_pct,
            baseline_device=self.baseline_device,
            current_device=self.current_device,
            counts=dict(sorted(counts.items())),
            regressions=len(self.regressions),
            rows=list(self.rows),
            notes=list(self.notes),
        )


def compare(baseline: Report, current: Report, *, threshold_pct: float = 5.0) -> Comparison:
    """Match results by (op, backend, shape); a case whose current median exceeds the baseline's by more
    than ``threshold_pct`` percent is ``slower``; a current result that failed its check is ``incorrect``.
    Results measured on different devices are skipped with a note, never compared."""
    if not threshold_pct >= 0:
        raise InputError(
            f"the threshold must be a non-negative percentage, got {threshold_pct}", field="threshold"
        )
    b_dev, c_dev = str(baseline.env.get("device_name")), str(current.env.get("device_name"))
    notes: list[str] = []
    rows: list[Row] = []
    base = {r.key(): r for r in baseline.results}
    seen = set()
    for r in current.results:
        k = r.key()
        seen.add(k)
        old = base.get(k)
        if old is None:
            rows.append(Row(r.op, r.backend, r.shape, "new", None, r.median_us, None))
            continue
        if old.device != r.device:
            rows.append(
                Row(
                    r.op,
                    r.backend,
                    r.shape,
                    "skipped",
                    old.median_us,
                    r.median_us,
                    None,
                    f"devices differ: {old.device} vs {r.device}",
                )
            )
            continue
        if not r.correct or r.median_us is None:
            rows.append(
                Row(
                    r.op,
                    r.backend,
                    r.shape,
                    "incorrect",
                    old.median_us,
                    r.median_us,
                    None,
                    "failed its check",
                )
            )
            continue
        if old.median_us is None or old.median_us <= 0:
            rows.append(
                Row(r.op, r.backend, r.shape, "new", None, r.median_us, None, "the baseline has no time")
            )
            continue
        change = (r.median_us - old.median_us) / old.median_us * 100.0
        status = "slower" if change > threshold_pct else "faster" if change < -threshold_pct else "same"
        rows.append(Row(r.op, r.backend, r.shape, status, old.median_us, r.median_us, change))
    for k, old in base.items():
        if k not in seen:
            rows.append(Row(old.op, old.backend, old.shape, "missing", old.median_us, None, None))
    skipped = sum(1 for r in rows if r.status == "skipped")
    if skipped:
        notes.append(f"{skipped} results were measured on different devices and were not compared")
    if b_dev != c_dev:
        notes.append(f"the runs are on different devices: {b_dev} (baseline) vs {c_dev} (current)")
    return Comparison(threshold_pct, rows, notes, b_dev, c_dev)


def parse_threshold(text: str) -> float:
    """``5%``, ``5`` (percent either way) or ``2.5%`` -> 5.0, 5.0, 2.5."""
    t = text.strip()
    t = t[:-1].strip() if t.endswith("%") else t
    try:
        v = float(t)
    except ValueError:
        raise InputError(f"expected a percentage like 5% or 2.5, got {text!r}", field="threshold") from None
    if not (v >= 0 and v < float("inf")):
        raise InputError(f"expected a non-negative percentage, got {text!r}", field="threshold")
    return v
