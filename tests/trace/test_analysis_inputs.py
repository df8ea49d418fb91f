"""Reading trace files: every bad input is refused with one line naming the file and the problem (exit 2 from
the CLI); good ones in every form (gzip, bare arrays, escapes, both timestamp conventions, chunk
boundaries) read exactly."""

from __future__ import annotations

import gzip
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireflyer import InputError, io
from fireflyer.trace import analyze
from fireflyer.trace.analysis import scan
from fireflyer.trace.synthetic import generate
from tests.conftest import run_flyer

from .trace_reference import kernel, trace, write

GOOD = trace([kernel(0, 10), kernel(5, 10, name="ncclKernel_x", stream=9)], distributedInfo={"rank": 0})

BAD = {
    "truncated": (json.dumps(GOOD)[:-30], "truncated: the file ends inside"),
    "not-json": ("this is not JSON\n", "not a trace: expected a JSON object with traceEvents"),
    "not-a-trace": (
        '{"model": "deepseek-v3", "layers": 61}',
        "not a trace: a JSON object without traceEvents",
    ),
    "array-of-numbers": ("[1, 2, 3]", "traceEvents[0]: expected an event object"),
    "empty-events": ('{"traceEvents": []}', "traceEvents is empty"),
    "empty-file": ("  \n", "the file is empty"),
    "no-ts": (
        json.dumps(trace([kernel(0, 1), {"ph": "X", "cat": "kernel", "pid": 0, "tid": 7, "dur": 3}])),
        "traceEvents[1].ts: missing",
    ),
    "no-dur": (
        json.dumps(trace([{"ph": "X", "cat": "kernel", "pid": 0, "tid": 7, "ts": 3}])),
        "traceEvents[0].dur: missing",
    ),
    "negative-dur": (json.dumps(trace([kernel(0, -1)])), "traceEvents[0].dur: must be >= 0"),
    "no-ph": ('{"traceEvents": [{"ts": 1, "pid": 0, "tid": 0}]}', "traceEvents[0].ph: missing"),
    "ts-string": (
        '{"traceEvents": [{"ph": "X", "ts": "12", "dur": 1}]}',
        "traceEvents[0].ts: expected a number, got a string",
    ),
    "nan": ('{"traceEvents": [{"ph": "X", "ts": NaN, "dur": 1}]}', "traceEvents[0].ts: expected a number"),
    "huge-number": ('{"traceEvents": [{"ph": "X", "ts": 1e999, "dur": 1}]}', "not a finite number"),
    "trailing-data": (json.dumps(GOOD) + " {}", "data after the end of the JSON document"),
    "duplicate-key": ('{"traceEvents": [{"ph": "X", "ts": 1, "ts": 2, "dur": 1}]}', "duplicate key 'ts'"),
    "trailing-comma": ('{"traceEvents": [{"ph": "i", "ts": 1},]}', "expected an event object"),
    "bad-escape": ('{"traceEvents": [{"ph": "i", "ts": 1, "name": "a\\q"}]}', "invalid escape"),
    "deep": (
        '{"traceEvents": [{"ph": "i", "ts": 1, "args": ' + "[" * 70 + "]" * 70 + "}]}",
        "nested deeper than 64",
    ),
    "metadata-only": (
        '{"traceEvents": [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0}]}',
        "no timed events",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_naming_the_file(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / f"{case}.json"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        analyze([path])
    assert e.value.file == str(path)
    assert expected in e.value.one_line()


def test_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(trace([kernel(0, 1, name="gemm_X")])).encode().replace(b"_X", b"_\xe9"))
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte \d+\)"):
        analyze([path])
    path.write_bytes(b'{"traceEvents": [{"ph": "i", "ts": 1, "name": "\xed\xa0\x80"}]}')  # a UTF-8 surrogate
    with pytest.raises(InputError, match="not UTF-8"):
        analyze([path])


def test_two_traces_claiming_one_rank(tmp_path):
    write(tmp_path / "a.json", GOOD)
    write(tmp_path / "b.json", GOOD)
    with pytest.raises(InputError, match="claims rank 0") as e:
        analyze([tmp_path])
    assert e.value.file == str(tmp_path / "b.json") and str(tmp_path / "a.json") in e.value.message


def test_gzip_damaged_and_truncated(tmp_path):
    data = gzip.compress(json.dumps(GOOD).encode())
    (tmp_path / "cut.json.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated gzip stream"):
        analyze([tmp_path / "cut.json.gz"])
    (tmp_path / "bad.json.gz").write_bytes(data[:10] + bytes(b ^ 0x55 for b in data[10:]))
    with pytest.raises(InputError, match="not a valid gzip file"):
        analyze([tmp_path / "bad.json.gz"])


def test_missing_paths_and_empty_directories(tmp_path):
    with pytest.raises(InputError, match="not found"):
        analyze([tmp_path / "nope.json"])
    with pytest.raises(InputError, match="no trace files in this directory"):
        analyze([tmp_path])


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_prefix_of_a_trace_is_refused(tmp_path_factory, data):
    text = json.dumps(GOOD, indent=2)
    cut = data.draw(st.integers(0, len(text.rstrip()) - 1))
    path = tmp_path_factory.mktemp("p") / "t.json"
    path.write_text(text[:cut])
    with pytest.raises(InputError):
        analyze([path])


def test_escapes_decode_to_one_name(tmp_path):
    events = [
        kernel(0, 1, name="moe<\u00b5>"),
        kernel(1, 1, name="moe<µ>"),
        kernel(2, 1, name='quote"\\slash\t😀'),
    ]
    raw = json.dumps(trace(events), ensure_ascii=True)  # \u00b5, \ud83d\ude00 (a surrogate pair) ...
    raw = raw.replace("moe<\\u00b5>", "moe<µ>", 1)  # ... and the same name once in raw UTF-8
    path = tmp_path / "t.json"
    path.write_text(raw, encoding="utf-8")
    [r] = analyze([path], top=0).ranks
    assert {k.name: k.count for k in r.top_kernels} == {"moe<µ>": 2, 'quote"\\slash\t😀': 1}


def test_bare_array_gzip_and_both_timestamp_conventions(tmp_path):
    events = GOOD["traceEvents"]
    (tmp_path / "array.json.gz").write_bytes(gzip.compress(json.dumps(events).encode()))
    [r] = analyze([tmp_path / "array.json.gz"]).ranks
    assert (r.busy_us, r.overlap_us, r.rank) == (15, 5, None)
    relative = [dict(e, ts=e["ts"] + 0.125) for e in events]
    write(tmp_path / "relative.json", trace(relative, baseTimeNanoseconds=1_790_857_026_000_000_000))
    [r] = analyze([tmp_path / "relative.json"]).ranks
    assert (r.busy_us, r.overlap_us, r.span_us) == (15, 5, 15)


def test_absolute_microseconds_keep_fractions(tmp_path):
    base = 1_740_461_679_471_346
    events = [kernel(base + 0.25, 10.5), kernel(base + 5.75, 1.125, name="ncclKernel", stream=9)]
    [r] = analyze([write(tmp_path / "t.json", trace(events))]).ranks
    assert (r.span_us, r.busy_us, r.overlap_us) == (10.5, 10.5, 1.125)


def test_chunk_boundaries_and_an_event_larger_than_the_reserve(tmp_path):
    expected = generate(tmp_path / "big.json", target_bytes=9 << 20, seed=4)  # > two 4 MiB chunks
    [r] = analyze([tmp_path / "big.json"], top=0).ranks
    assert (r.busy_us, r.overlap_us, r.kernels, r.steps) == (
        expected.busy_us,
        expected.overlap_us,
        expected.kernels,
        expected.steps,
    )
    huge = dict(kernel(3, 4), args={"blob": "x" * (3 << 20), "list": list(range(1000))})
    write(tmp_path / "huge.json", trace([kernel(0, 2), huge, kernel(10, 1)]))
    [r] = analyze([tmp_path / "huge.json"]).ranks
    assert (r.kernels, r.busy_us, r.span_us) == (3, 7, 11)


@pytest.mark.parametrize("case", ["truncated", "not-json", "not-a-trace", "empty-events", "no-ts", "no-dur"])
def test_cli_exit_2_with_one_line_naming_the_file(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / f"{case}.json"
    path.write_text(text)
    res = run_flyer("trace", "analyze", str(path))
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], res.stderr
    assert res.stdout == ""


def test_cli_utf8_and_duplicate_rank(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"traceEvents": [{"ph": "i", "ts": 1, "name": "\xff"}]}')
    res = run_flyer("trace", "analyze", str(path))
    assert res.returncode == 2 and str(path) in res.stderr and "not UTF-8" in res.stderr
    d = tmp_path / "ranks"
    d.mkdir()
    write(d / "r0.json", GOOD)
    write(d / "r0-again.json", GOOD)
    res = run_flyer("trace", "analyze", str(d))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "claims rank 0" in res.stderr and "r0.json" in res.stderr


def test_a_large_file_read_in_parts_gives_the_figures_of_one_read_whole(tmp_path):
    path = tmp_path / "big.json"
    expected = generate(path, target_bytes=40 << 20, seed=5, timestamps="relative")
    assert [f.parts for f in scan([path], threads=2)] == [2]
    whole = analyze([path], threads=1, top=0, cpu=True).ranks[0]
    parts = analyze([path], threads=2, top=0, cpu=True).ranks[0]
    assert parts == whole and whole.busy_us == expected.busy_us and whole.steps == expected.steps
    # An error in the second half is reported with its exact place, as a whole read reports it.
    text = path.read_text()
    cut = text.index('"ph": "X", "cat": "kernel"', len(text) * 3 // 4)
    path.write_text(text[:cut] + '"ph": "X", "cat": "kernel", "dur": -1' + text[cut + 26 :])
    with pytest.raises(InputError) as one:
        analyze([path], threads=1)
    with pytest.raises(InputError) as two:
        analyze([path], threads=2)
    assert one.value.one_line() == two.value.one_line() and "dur" in one.value.one_line()


def test_top_level_keys_after_the_events_and_compact_files(tmp_path):
    events = [
        kernel(i * 10, 5, name="gemm" if i % 3 else "ncclKernel_x", stream=7 + i % 2) for i in range(2000)
    ]
    text = json.dumps({"traceEvents": events, "distributedInfo": {"rank": 5}}, indent=1)
    big = text.replace('"gemm"', '"' + "g" * 30000 + '"')  # > 32 MiB, so that it may be read in parts
    (tmp_path / "late.json").write_text(big)
    (tmp_path / "compact.json").write_text(json.dumps(json.loads(big)))  # no newlines: read whole
    assert [f.parts for f in scan([tmp_path / "late.json", tmp_path / "compact.json"], threads=4)] == [2, 1]
    a = analyze([tmp_path / "late.json"], threads=2).ranks[0]
    b = analyze([tmp_path / "compact.json"], threads=2).ranks[0]
    assert a.rank == b.rank == 5 and (a.busy_us, a.overlap_us) == (b.busy_us, b.overlap_us) == (10000, 0)


def special_files(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    return {fifo: "found a FIFO", zero: "found a character device"}


def test_special_and_oversized_files_are_refused_before_the_core_opens_them(tmp_path):
    for path, what in special_files(tmp_path).items():
        with pytest.raises(InputError, match=what) as e:
            scan([path])
        assert e.value.file == str(path)
    sparse = tmp_path / "huge.json"
    with open(sparse, "wb") as fh:
        fh.truncate(io.LIMITS["trace"] + 1)  # a hole: no disk used
    with pytest.raises(InputError, match="over the 64 GiB a trace file may have"):
        analyze([sparse])


def test_cli_special_files_exit_2_in_every_command(tmp_path):
    special = special_files(tmp_path)
    ranks = tmp_path / "ranks"
    ranks.mkdir()
    write(ranks / "rank0.json", GOOD)
    os.mkfifo(ranks / "rank1.json")  # in a directory: listed and refused, never skipped
    special[ranks / "rank1.json"] = "found a FIFO"
    for path, what in special.items():
        for args in (
            ("analyze", str(path)),
            ("merge", str(path), "-o", str(tmp_path / "m.json")),
            ("diff", str(ranks / "rank0.json"), str(path)),
        ):
            res = run_flyer("trace", *args, timeout=60)  # a FIFO opened by mistake would block: time out
            lines = res.stderr.strip().splitlines()
            assert res.returncode == 2 and len(lines) == 1 and str(path) in lines[0] and what in lines[0]
    assert not (tmp_path / "m.json").exists()


FAR = 1 << 46  # the farthest an event may be from a trace's first timestamp, in microseconds


@pytest.mark.parametrize(
    "first, second, field",
    [
        (0, 10**18, "ts"),  # 11,574 days apart: as doubles, a 10 us kernel there lasted 0
        (-(9 * 10**17), 8.9e18, "ts"),  # the difference overflows 64 bits
        (0, FAR + 1, "ts"),
        (-FAR, 1, "ts"),
    ],
)
def test_timestamps_too_far_apart_are_refused_naming_the_event(tmp_path, first, second, field):
    path = write(tmp_path / "far.json", trace([kernel(first, 5), kernel(second, 10, name="ncclKernel_x")]))
    with pytest.raises(InputError) as e:
        analyze([path])
    assert e.value.file == str(path) and e.value.field == f"traceEvents[1].{field}"
    assert "more than 2^46 us (814 days) from the trace's first timestamp" in e.value.message
    res = run_flyer("trace", "analyze", str(path))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert f"{path}: traceEvents[1].ts:" in res.stderr


def test_a_duration_too_long_is_refused(tmp_path):
    path = write(tmp_path / "long.json", trace([kernel(0, 5), kernel(1, FAR + 1)]))
    with pytest.raises(InputError, match=r"traceEvents\[1\]\.dur: must be at most 2\^46 us"):
        analyze([path])


def test_events_far_apart_within_range_keep_every_microsecond(tmp_path):
    # Kernels up to 2^46 us (814 days) apart on either side of the first: a 10 us NCCL kernel counts 10 us.
    events = [
        kernel(0, 5),
        kernel(FAR - 20, 10, name="ncclKernel_x", stream=9),
        kernel(FAR - 15, 10),
        kernel(-FAR, 0.125, name="ncclKernel_y", stream=9),
    ]
    [r] = analyze([write(tmp_path / "t.json", trace(events))]).ranks
    assert (r.comm_us, r.compute_us, r.overlap_us, r.span_us) == (10.125, 15, 5, 2 * FAR - 5)
