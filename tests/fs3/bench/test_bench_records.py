"""GraySort records and the checks of a sorted output, against the pure-Python references; the validation
shown passing on a correct output and failing on each kind of corruption."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fireflyer._core.fs3 import bench as core
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer.errors import InputError
from fireflyer.fs3.bench import records, validate_output

from . import bench_reference as ref

keys_st = st.lists(st.binary(min_size=10, max_size=10), min_size=0, max_size=40)


def _rows(keys: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), 10)


@given(keys_st, st.integers(1, 65536))
def test_partition_of_matches_reference(keys, partitions):
    got = records.partition_of(_rows(keys), partitions).tolist() if keys else []
    assert got == [ref.partition_of(k, partitions) for k in keys]


record_st = st.tuples(st.binary(min_size=10, max_size=10), st.binary(min_size=90, max_size=90))


@given(st.lists(record_st, max_size=25), st.integers(0, 30))
@settings(max_examples=80)
def test_summarize_records_matches_reference(pairs, slots):
    keys = np.frombuffer(b"".join(k for k, _ in pairs), np.uint8).reshape(len(pairs), 10)
    values = np.frombuffer(b"".join(v for _, v in pairs), np.uint8).reshape(len(pairs), 90)
    seen = np.zeros(slots, np.uint16)
    s = core.summarize_records(keys, values, seen)
    assert (s.rows, s.disorder, s.checksum) == (
        len(pairs),
        ref.disorder([k for k, _ in pairs]),
        ref.checksum(pairs),
    )
    want = [0] * slots
    for _, v in pairs:
        i = int.from_bytes(v[:8], "big")
        if i < slots:
            want[i] += 1
    assert seen.tolist() == want
    if len(pairs) > 1:  # the checksum does not depend on the order of the records
        back = core.summarize_records(np.ascontiguousarray(keys[::-1]), np.ascontiguousarray(values[::-1]))
        assert back.checksum == s.checksum


def test_summarize_records_refuses_other_shapes():
    with pytest.raises(InputError, match="expected keys"):
        core.summarize_records(np.zeros((3, 8), np.uint8), np.zeros((3, 90), np.uint8))
    with pytest.raises(InputError, match="expected keys"):
        core.summarize_records(np.zeros((3, 10), np.uint8), np.zeros((2, 90), np.uint8))


def test_generate_is_deterministic_and_well_formed():
    a = records.generate(1000, 500, seed=7, partitions=8)
    b = records.generate(1000, 500, seed=7, partitions=8)
    assert a.equals(b) and a.schema == records.SCHEMA
    keys = records.as_rows(a.column("key"), 10)
    values = records.as_rows(a.column("value"), 90)
    assert [int.from_bytes(bytes(v[:8]), "big") for v in values] == list(range(1000, 1500))
    assert a.column("partition").to_pylist() == [ref.partition_of(bytes(k), 8) for k in keys]
    assert not records.generate(0, 500, seed=8, partitions=8).equals(
        records.generate(0, 500, seed=7, partitions=8)
    )


@given(st.lists(st.binary(min_size=10, max_size=10), min_size=1, max_size=30), st.integers(0, 5))
def test_as_rows_reads_binary_columns_with_offsets(keys, cut):
    cut = min(cut, len(keys) - 1)
    for arr in (
        pa.array(keys, pa.binary()),
        pa.array(keys, pa.binary(10)),
        pa.array(keys, pa.large_binary()),
    ):
        rows = records.as_rows(arr.slice(cut), 10)
        assert [bytes(r) for r in rows] == keys[cut:]


def test_as_rows_refuses_other_lengths():
    with pytest.raises(ValueError, match="row 1 is 3 bytes"):
        records.as_rows(pa.array([b"0123456789", b"abc"]), 10)


def _rewrite(path, fn):
    t = pq.read_table(path)
    rows = t.to_pylist()
    rows = fn(rows)
    pq.write_table(pa.Table.from_pylist(rows, schema=t.schema), path)


@pytest.fixture
def run(tmp_path):
    return ref.write_run(tmp_path, 3000, 4)


def test_validation_passes_on_a_correct_output(run):
    outs, ins = run
    v = validate_output(outs, ins, expected_records=3000)
    assert v.ok, v.problems
    assert (v.records, v.partitions, v.disorder, v.boundary_disorder, v.duplicates, v.missing) == (
        3000,
        4,
        0,
        0,
        0,
        0,
    )


def test_validation_fails_when_keys_are_out_of_order_within_a_partition(run):
    outs, ins = run
    _rewrite(outs[1], lambda rows: [rows[1], rows[0], *rows[2:]])
    v = validate_output(outs, ins)
    assert not v.ok and v.disorder >= 1 and v.checksum_ok
    assert any("out of order" in p for p in v.problems)


def test_validation_fails_when_partitions_are_out_of_order(run):
    outs, ins = run

    def relabel(new):
        return lambda rows: [{**r, "partition": new} for r in rows]

    # partitions 0 and 3 swap places: the records are all there, the order across partitions is not
    _rewrite(outs[0], relabel(3))
    _rewrite(outs[3], relabel(0))
    v = validate_output(outs, ins)
    assert not v.ok and v.boundary_disorder >= 1 and v.disorder == 0 and v.checksum_ok


def test_validation_fails_when_a_record_is_lost(run):
    outs, ins = run
    _rewrite(outs[2], lambda rows: rows[:-1])
    v = validate_output(outs, ins)
    assert not v.ok and v.records == 2999 and not v.checksum_ok and v.missing == 1


def test_validation_fails_when_a_record_is_duplicated(run):
    outs, ins = run
    _rewrite(outs[2], lambda rows: [rows[0], rows[0], *rows[2:]])  # a duplicate in place of another
    v = validate_output(outs, ins)
    assert not v.ok and v.records == 3000 and v.duplicates == 1 and v.missing == 1 and not v.checksum_ok


def test_validation_fails_when_a_value_is_altered(run):
    outs, ins = run

    def flip(rows):
        v = bytearray(rows[5]["value"])
        v[50] ^= 0xFF
        rows[5] = {**rows[5], "value": bytes(v)}
        return rows

    _rewrite(outs[0], flip)
    v = validate_output(outs, ins)
    assert not v.ok and not v.checksum_ok and v.duplicates == 0 and v.missing == 0


def test_validation_fails_when_a_partition_is_split_or_mixed(run):
    outs, ins = run
    _rewrite(outs[1], lambda rows: [*rows[:-1], {**rows[-1], "partition": 2}])
    v = validate_output(outs, ins)
    assert not v.ok and any("more than one partition" in p for p in v.problems)


def test_validation_refuses_files_that_are_not_records(tmp_path, run):
    outs, ins = run
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), bad)
    with pytest.raises(InputError, match="not a GraySort record file"):
        validate_output([*outs, bad], ins)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read Parquet"):
        validate_output([junk], ins)
