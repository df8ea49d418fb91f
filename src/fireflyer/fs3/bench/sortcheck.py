"""The check of a sorted GraySort output against its input: every record once (count, checksum, and each
record index when the index map fits in memory), keys in order within and across partition files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ... import host
from ..._core.fs3 import bench as _core
from ...errors import InputError
from . import records
from .reports import Validation
from .workloads import Progress

MASK64 = (1 << 64) - 1


@dataclass
class _FileSummary:
    path: str
    partition: int | None = None
    rows: int = 0
    first: bytes = b""
    last: bytes = b""
    disorder: int = 0
    checksum: int = 0
    mixed_partitions: bool = False


def _read_batches(path: str, columns: Sequence[str]):
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
        yield from f.iter_batches(batch_size=1 << 20, columns=list(columns))
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"cannot read Parquet: {e}", file=path) from None


def _record_batches(path: str, columns: Sequence[str]):
    """(batch, keys (n, 10), values (n, 90)) of each non-empty batch of a record file."""
    for batch in _read_batches(path, columns):
        try:
            keys = records.as_rows(batch.column("key"), records.KEY_BYTES)
            values = records.as_rows(batch.column("value"), records.VALUE_BYTES)
        except (KeyError, ValueError) as e:
            raise InputError(f"not a GraySort record file: {e}", file=path) from None
        if len(keys):
            yield batch, keys, values


def _summarize(path: str, seen: np.ndarray | None) -> _FileSummary:
    import pyarrow.compute as pc

    s = _FileSummary(path)
    for batch, keys, values in _record_batches(path, ("partition", "key", "value")):
        lo, hi = pc.min_max(batch.column("partition")).values()
        if s.partition is None:
            s.partition = lo.as_py()
        if lo.as_py() != s.partition or hi.as_py() != s.partition:
            s.mixed_partitions = True
        first = keys[0].tobytes()
        if s.rows and first < s.last:
            s.disorder += 1
        s.first = s.first if s.rows else first
        s.last = keys[-1].tobytes()
        summary = _core.summarize_records(keys, values, seen)
        s.disorder += summary.disorder
        s.checksum = (s.checksum + summary.checksum) & MASK64
        s.rows += summary.rows
    return s


def validate_output(
    output_files: Sequence[str | os.PathLike],
    input_files: Sequence[str | os.PathLike],
    *,
    expected_records: int | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Check a sorted GraySort output against its input: the same records (count and checksum; each record
    index exactly once when the index map fits in memory), keys in order within each partition file, and
    partitions (by their ``partition`` column) in key order one after the other."""
    outs = [os.fspath(p) for p in output_files]
    ins = [os.fspath(p) for p in input_files]
    problems: list[str] = []
    expected_in = 0
    in_sum = 0
    for i, path in enumerate(ins):
        for _, keys, values in _record_batches(path, ("key", "value")):
            summary = _core.summarize_records(keys, values)
            expected_in += summary.rows
            in_sum = (in_sum + summary.checksum) & MASK64
        if progress:
            progress("validate: input", 0.5 * (i + 1) / max(len(ins), 1))
    expected = expected_records if expected_records is not None else expected_in
    seen = None
    if expected * 2 <= 0.5 * host.memory_available():
        seen = np.zeros(expected, dtype=np.uint16)
    summaries = []
    for i, path in enumerate(outs):
        summaries.append(_summarize(path, seen))
        if progress:
            progress("validate: output", 0.5 + 0.5 * (i + 1) / max(len(outs), 1))
    filled = [s for s in summaries if s.rows]
    by_partition: dict[int, _FileSummary] = {}
    for s in filled:
        if s.partition is None:  # no batch named one (a file of empty batches)
            continue
        if s.mixed_partitions:
            problems.append(f"{s.path} holds records of more than one partition")
        if s.partition in by_partition:
            problems.append(
                f"partition {s.partition} is split over {by_partition[s.partition].path} and {s.path}"
            )
        by_partition[s.partition] = s
    ordered = [by_partition[k] for k in sorted(by_partition)]
    disorder = sum(s.disorder for s in filled)
    if disorder:
        problems.append(f"{disorder} keys are out of order within their partition")
    boundary = 0
    for prev, cur in zip(ordered, ordered[1:]):
        if cur.first < prev.last:
            boundary += 1
    if boundary:
        problems.append(f"{boundary} partitions start below the end of the partition before them")
    out_records = sum(s.rows for s in filled)
    if out_records != expected:
        problems.append(f"the output has {out_records} records, the input {expected}")
    out_sum = sum(s.checksum for s in filled) & MASK64
    checksum_ok = out_sum == in_sum and expected_in == expected
    if not checksum_ok:
        problems.append(
            "the checksum of the output's records differs from the input's (records lost or altered)"
        )
    duplicates = missing = None
    if seen is not None:
        duplicates = int(np.count_nonzero(seen > 1))
        missing = int(np.count_nonzero(seen == 0))
        if duplicates or missing:
            problems.append(f"{duplicates} records appear more than once and {missing} not at all")
    return Validation(
        records=out_records,
        expected_records=expected,
        partitions=len(filled),
        disorder=disorder,
        boundary_disorder=boundary,
        checksum_ok=checksum_ok,
        duplicates=duplicates,
        missing=missing,
        problems=tuple(problems),
    )
