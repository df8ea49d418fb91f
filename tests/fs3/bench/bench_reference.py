"""Pure-Python references for flyer fs3 bench, written independently of the core and of numpy: the I/O job
check, the GraySort partition rule, key order and the record checksum; and a GraySort run (input and
sorted output as Parquet) built without Ray, to check the validation against."""

from __future__ import annotations

from pathlib import Path

MASK64 = (1 << 64) - 1
MAX_JOBS, MAX_DEPTH, MAX_BLOCK = 4096, 1024, 1 << 30


def check_io(size: int, block: int, jobs: int, iodepth: int, direct: bool, runtime: float) -> tuple[str, int]:
    """("ok", file bytes per job), or ("field", 0) naming the first field the job cannot run with (the core
    checks in this order: jobs, iodepth, block, block alignment, runtime, size)."""
    if not 1 <= jobs <= MAX_JOBS:
        return "jobs", 0
    if not 1 <= iodepth <= MAX_DEPTH:
        return "iodepth", 0
    if not 512 <= block <= MAX_BLOCK:
        return "block", 0
    if direct and block % 4096:
        return "block", 0
    if not runtime >= 0 or runtime == float("inf"):
        return "runtime", 0
    if size < 1:
        return "size", 0
    per_job = size // jobs // block * block
    if per_job < block:
        return "size", 0
    return "ok", per_job


def partition_of(key: bytes, partitions: int) -> int:
    return int.from_bytes(key[:4], "big") * partitions >> 32


def disorder(keys: list[bytes]) -> int:
    return sum(1 for a, b in zip(keys, keys[1:]) if b < a)


def _mix(h: int) -> int:
    h ^= h >> 31
    h = h * 0xBF58476D1CE4E5B9 & MASK64
    return h ^ (h >> 29)


def record_hash(key: bytes, value: bytes) -> int:
    padded = key + value + bytes(4)
    h = 0
    for i in range(13):
        word = int.from_bytes(padded[8 * i : 8 * i + 8], "little")
        mult = (0x9E3779B97F4A7C15 * (2 * i + 1) + 0x632BE59BD9B4E019 * i) & MASK64 | 1
        h = (h + word * mult) & MASK64
    return _mix(h)


def checksum(pairs) -> int:
    return sum(record_hash(k, v) for k, v in pairs) & MASK64


def write_run(root: Path, records: int, partitions: int, *, seed: int = 3) -> tuple[list[Path], list[Path]]:
    """A GraySort input (two files) and its sorted output (one file per partition), as Smallpond's job
    writes them but sorted here with pyarrow; -> (output files, input files)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from fireflyer.fs3.bench import records as rec

    (root / "input").mkdir(parents=True)
    (root / "output").mkdir()
    half = records // 2
    parts = [
        rec.generate(0, half, seed=seed, partitions=partitions),
        rec.generate(half, records - half, seed=seed, partitions=partitions),
    ]
    inputs = []
    for i, t in enumerate(parts):
        inputs.append(root / "input" / f"in-{i}.parquet")
        pq.write_table(t, inputs[-1])
    table = pa.concat_tables(parts)
    outputs = []
    for p in range(partitions):
        part = table.filter(pc.equal(table["partition"], p)).sort_by("key")
        # NOTE: DuckDB writes keys and values back as variable-length binary; so does this.
        part = part.cast(pa.schema([("partition", pa.int32()), ("key", pa.binary()), ("value", pa.binary())]))
        outputs.append(root / "output" / f"part-{p}.parquet")
        pq.write_table(part, outputs[-1])
    return outputs, inputs
