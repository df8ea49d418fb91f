"""What a deployment must reach: the ``bench:`` section of a cluster YAML (or ``--threshold`` on the command
line), and the pass/warn/fail verdict of each measured figure against it. On several client nodes at once
(``--ray-address``) every threshold judges the aggregate: GiB/s, IOPS and ops/s summed over the clients,
``*_p99_ms`` the worst client's p99.

A cluster YAML's ``bench:`` section, for example::

    bench:
      seq_read_gib_s: 10        # minimums: fail below, warn within warn_margin above
      rand_read_iops: 200000
      meta_create_ops_s: 20000
      sort_gib_s: 1.0
      kvcache_client_gib_s: 30  # kvcache (with --kvcache): GiB/s per client node
      rand_read_p99_ms: 2       # names ending in _p99_ms are maximums
      min_share: 0.8            # of the published figure scaled to this cluster, where one exists
      warn_margin: 0.1
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from ...errors import InputError
from ...io import convert, load_document
from .reports import PublishedReport, Verdict

Limit = Annotated[float, Meta(gt=0)]
STATUSES = ("pass", "warn", "fail")


class Thresholds(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Minimum figures (maximum for ``*_p99_ms``) ``flyer fs3 bench all`` must reach; unset: not judged."""

    seq_read_gib_s: Limit | None = None
    seq_write_gib_s: Limit | None = None
    rand_read_gib_s: Limit | None = None
    rand_write_gib_s: Limit | None = None
    seq_read_iops: Limit | None = None
    seq_write_iops: Limit | None = None
    rand_read_iops: Limit | None = None
    rand_write_iops: Limit | None = None
    seq_read_p99_ms: Limit | None = None
    seq_write_p99_ms: Limit | None = None
    rand_read_p99_ms: Limit | None = None
    rand_write_p99_ms: Limit | None = None
    meta_create_ops_s: Limit | None = None
    meta_stat_ops_s: Limit | None = None
    meta_rename_ops_s: Limit | None = None
    meta_delete_ops_s: Limit | None = None
    sort_gib_s: Limit | None = None
    kvcache_gib_s: Limit | None = None
    """The KVCache reads' GiB/s, over every client node together."""
    kvcache_client_gib_s: Limit | None = None
    """The KVCache reads' GiB/s per client node: the aggregate over the clients that ran (3FS published a
    40 GiB/s peak per client node)."""
    kvcache_p99_ms: Limit | None = None
    min_share: Limit | None = None
    """Fail a figure that has a published counterpart below this share of it (scaled to the nodes used)."""
    warn_margin: Annotated[float, Meta(ge=0, lt=1)] = 0.1
    """Warn when a figure passes by less than this fraction of its limit."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v}")

    def limit(self, check: str) -> float | None:
        return getattr(self, check, None) if check in self.__struct_fields__ else None


def load_thresholds(cluster_file: str | os.PathLike) -> Thresholds:
    """The ``bench:`` section of a cluster YAML or JSON file (no section: nothing is judged)."""
    doc = load_document(cluster_file, what="cluster file")
    if not isinstance(doc, dict):
        raise InputError("expected a mapping at the top level", file=os.fspath(cluster_file))
    return convert(doc.get("bench") or {}, Thresholds, file=os.fspath(cluster_file), field="bench")


def parse_overrides(assignments: Iterable[str]) -> dict[str, float]:
    """``["seq_read_gib_s=10", ...]`` -> ``{"seq_read_gib_s": 10.0}``; InputError naming the bad one."""
    out: dict[str, float] = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            raise InputError(
                f"expected NAME=NUMBER such as seq_read_gib_s=10, got {text!r}", field="threshold"
            )
        out[name] = number
    return out


def with_overrides(base: Thresholds, overrides: dict[str, float]) -> Thresholds:
    """``base`` with the fields in ``overrides`` replaced (checked as the YAML section is)."""
    if not overrides:
        return base
    return convert({**msgspec.structs.asdict(base), **overrides}, Thresholds, field="threshold")


def thresholds_from(cluster_file: str | os.PathLike | None, overrides: Iterable[str] = ()) -> Thresholds:
    """The ``bench:`` section of ``cluster_file`` (None: no thresholds), then ``NAME=VALUE`` overrides over it
    (``--cluster`` and ``--threshold``)."""
    base = load_thresholds(cluster_file) if cluster_file is not None else Thresholds()
    return with_overrides(base, parse_overrides(overrides))


@dataclass(frozen=True)
class Metric:
    """One measured figure the suite can judge."""

    check: str
    """The threshold that judges it, e.g. seq_read_gib_s."""
    label: str
    value: float
    unit: str
    maximum: bool = False
    """A limit is a maximum (latency, problems), not a minimum."""
    reference: PublishedReport | None = None
    primary: bool = True
    """Shown in the summary even without a threshold."""
    limit: float | None = None
    """The limit when the thresholds set none (e.g. 0 problems in the sort's output): always judged."""
    scope: str = ""
    """What the figure is over when not this host alone, e.g. ``aggregate of 3 clients``."""


def _status(value: float, limit: float, maximum: bool, margin: float) -> str:
    if maximum:
        return "fail" if value > limit else "warn" if value > limit * (1 - margin) else "pass"
    return "fail" if value < limit else "warn" if value < limit * (1 + margin) else "pass"


def judge(metrics: Sequence[Metric], thresholds: Thresholds) -> list[Verdict]:
    """A verdict for each primary metric and each metric with a threshold: the worst of its own limit and,
    where it has a published counterpart, ``min_share``."""
    out = []
    for m in metrics:
        limit = thresholds.limit(m.check)
        limit = m.limit if limit is None else limit
        share = None if m.reference is None else m.reference.share(m.value)
        statuses, why = [], []
        if limit is not None:
            s = _status(m.value, limit, m.maximum, thresholds.warn_margin)
            statuses.append(s)
            over = f" ({m.scope})" if m.scope else ""
            why.append(f"{m.check}{over} {'<=' if m.maximum else '>='} {limit:g}: {s}")
        if share is not None and thresholds.min_share is not None:
            s = _status(share, thresholds.min_share, False, thresholds.warn_margin)
            statuses.append(s)
            why.append(f"share {share:.3g} of published, min_share {thresholds.min_share:g}: {s}")
        if not statuses and not m.primary:
            continue
        status = max(statuses, key=STATUSES.index) if statuses else None
        out.append(
            Verdict(
                check=m.check,
                label=m.label,
                measured=m.value,
                unit=m.unit,
                limit=limit,
                maximum=m.maximum,
                published=None if m.reference is None else m.reference.scaled,
                share=share,
                status=status,
                why="; ".join(why),
            )
        )
    return out
