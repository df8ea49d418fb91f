"""GraySort records: 100 bytes each, a 10-byte key and a 90-byte value, as sortbenchmark.org defines them.

Keys are uniformly random bytes. A value starts with the record's index (8 bytes, big-endian), so every
record of a run is distinct and traceable; its other 82 bytes are random. A record's partition is the
leading 32 bits of its key scaled to the partition count (the key's prefix bits when the count is a power
of two, as 3FS's GraySort partitions), so partitions hold consecutive key ranges.

The checks of a sorted output (keys in order, an order-independent checksum of all records, each index
seen once) run in the core, ``fireflyer._core.fs3.bench.summarize_records``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

KEY_BYTES = 10
VALUE_BYTES = 90
RECORD_BYTES = KEY_BYTES + VALUE_BYTES
SCHEMA = pa.schema(
    [("partition", pa.int32()), ("key", pa.binary(KEY_BYTES)), ("value", pa.binary(VALUE_BYTES))]
)
RANGE_SCHEMA = pa.schema([("begin", pa.int64()), ("count", pa.int64())])


def partition_of(keys: np.ndarray, partitions: int) -> np.ndarray:
    """The partition (int32) of each key of an (n, 10) uint8 array: floor(prefix32 * partitions / 2**32)."""
    prefix = keys[:, :4].astype(np.uint64)
    prefix32 = (
        (prefix[:, 0] << np.uint64(24)) | (prefix[:, 1] << np.uint64(16)) | (prefix[:, 2] << np.uint64(8))
    )
    prefix32 |= prefix[:, 3]
    return ((prefix32 * np.uint64(partitions)) >> np.uint64(32)).astype(np.int32)


def generate(begin: int, count: int, *, seed: int, partitions: int) -> pa.Table:
    """Records ``begin`` .. ``begin + count - 1`` of run ``seed`` (the same every time) as a table of
    SCHEMA."""
    rng = np.random.default_rng([seed, begin])
    keys = np.frombuffer(rng.bytes(count * KEY_BYTES), dtype=np.uint8).reshape(count, KEY_BYTES)
    values = np.empty((count, VALUE_BYTES), dtype=np.uint8)
    values[:, :8] = np.arange(begin, begin + count, dtype=">u8").view(np.uint8).reshape(count, 8)
    values[:, 8:] = np.frombuffer(rng.bytes(count * (VALUE_BYTES - 8)), dtype=np.uint8).reshape(count, -1)
    return pa.Table.from_arrays(
        [
            pa.array(partition_of(keys, partitions), type=pa.int32()),
            _fixed(keys, KEY_BYTES),
            _fixed(values, VALUE_BYTES),
        ],
        schema=SCHEMA,
    )


def generate_ranges(ranges: pa.Table, *, seed: int, partitions: int) -> pa.Table:
    """The records of every (begin, count) row of ``ranges`` (a Smallpond map_batches function)."""
    tables = [
        generate(b, c, seed=seed, partitions=partitions)
        for b, c in zip(ranges.column("begin").to_pylist(), ranges.column("count").to_pylist())
    ]
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def ranges(records: int, per_range: int) -> pa.Table:
    """(begin, count) rows covering ``records`` records, ``per_range`` at a time."""
    begins = np.arange(0, records, per_range, dtype=np.int64)
    counts = np.minimum(per_range, records - begins)
    return pa.table({"begin": begins, "count": counts}, schema=RANGE_SCHEMA)


def _fixed(rows: np.ndarray, width: int) -> pa.Array:
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(rows), [None, pa.py_buffer(rows.tobytes())]
    )


def as_rows(column: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """An (n, width) uint8 view of a binary or fixed-size binary column whose values are all ``width``
    bytes; ValueError naming the first row of another length."""
    if isinstance(column, pa.ChunkedArray):
        parts = [as_rows(c, width) for c in column.chunks]
        return np.concatenate(parts) if parts else np.empty((0, width), np.uint8)
    n = len(column)
    if column.null_count:
        raise ValueError(f"{column.null_count} null values")
    if pa.types.is_fixed_size_binary(column.type):
        if column.type.byte_width != width:
            raise ValueError(f"values are {column.type.byte_width} bytes, expected {width}")
        data = column.buffers()[1]
        return np.frombuffer(data, np.uint8, count=n * width, offset=column.offset * width).reshape(n, width)
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        dtype = np.int64 if pa.types.is_large_binary(column.type) else np.int32
        offsets = np.frombuffer(
            column.buffers()[1], dtype, count=n + 1, offset=column.offset * dtype().itemsize
        )
        lengths = np.diff(offsets)
        bad = np.flatnonzero(lengths != width)
        if bad.size:
            raise ValueError(f"row {int(bad[0])} is {int(lengths[bad[0]])} bytes, expected {width}")
        data = column.buffers()[2]
        return np.frombuffer(data, np.uint8, count=n * width, offset=int(offsets[0])).reshape(n, width)
    raise ValueError(f"expected binary values, got {column.type}")
