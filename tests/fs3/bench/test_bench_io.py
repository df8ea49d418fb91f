"""`fireflyer.fs3.bench.measure_io` and `measure_metadata` on a temporary directory: both I/O engines, the
O_DIRECT fallback, fio's JSON report (from a real run where fio is installed), the scratch directory."""

from __future__ import annotations

import json
import shutil
import subprocess

import msgspec
import pytest

from fireflyer.errors import InputError
from fireflyer.fs3 import bench
from fireflyer.fs3.bench import workloads

MiB = 1 << 20
HAVE_FIO = bench.fio_version() is not None
needs_fio = pytest.mark.skipif(
    not HAVE_FIO, reason="fio is not installed (apt-get install fio; .ci/run does)"
)


def _no_scratch_left(path):
    assert [p for p in path.iterdir() if p.name.startswith(".flyer-bench-")] == []


@pytest.mark.parametrize("pattern", bench.PATTERNS)
def test_builtin_engine(tmp_path, pattern):
    fractions = []
    r = bench.measure_io(
        tmp_path,
        bench.IoJob(pattern=pattern, size=8 * MiB, jobs=2, iodepth=4),
        engine="builtin",
        progress=lambda what, f: fractions.append(f),
    )
    assert r.engine == "builtin" and r.bytes == 8 * MiB and r.ops == 8 * MiB // r.block
    assert r.gib_s > 0 and r.iops > 0 and r.latency.p50_us <= r.latency.p99_us
    assert r.latency.samples == r.ops
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert (r.published is not None) == (pattern == "seq-read")
    if pattern == "seq-read":
        assert r.share == pytest.approx(r.gib_s / (6.6 * 1024 / 500))
    d = msgspec.to_builtins(r)
    assert d["pattern"] == pattern and d["latency"]["p99_us"] == r.latency.p99_us
    json.dumps(d)
    _no_scratch_left(tmp_path)


@needs_fio
@pytest.mark.parametrize("pattern", ["seq-read", "rand-write"])
def test_fio_engine_real_run(tmp_path, pattern):
    r = bench.measure_io(
        tmp_path, bench.IoJob(pattern=pattern, size=8 * MiB, jobs=2, iodepth=4), engine="fio"
    )
    assert r.engine == "fio" and r.engine_version.startswith("fio-")
    assert r.bytes == 8 * MiB and r.ops == 8 * MiB // r.block
    assert r.gib_s > 0 and r.iops > 0 and 0 < r.latency.p50_us <= r.latency.p99_us
    _no_scratch_left(tmp_path)


@needs_fio
def test_parse_fio_json_from_a_real_run(tmp_path):
    args = bench.fio_args(
        tmp_path, pattern="rand-read", file_bytes=2 * MiB, block=4096, jobs=2, iodepth=2, direct=False
    )
    args[0] = shutil.which("fio")
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    r = bench.parse_fio_json("note: some warning first\n" + out, pattern="rand-read")
    assert r.bytes == 4 * MiB and r.ops == 1024 and r.seconds > 0 and r.iops > 0
    assert r.p50_us is not None and r.p99_us >= r.p50_us
    raw = json.loads(out)["jobs"][0]["read"]
    assert r.bytes_per_s == raw["bw_bytes"] and r.p99_us == raw["lat_ns"]["percentile"]["99.000000"] / 1e3


def test_parse_fio_json_refuses_broken_reports():
    with pytest.raises(InputError, match="no JSON"):
        bench.parse_fio_json("fio: failed\n", pattern="seq-read")
    with pytest.raises(InputError, match="no jobs"):
        bench.parse_fio_json('{"fio version": "fio-3.33", "jobs": []}', pattern="seq-read")
    with pytest.raises(InputError, match="error 5"):
        bench.parse_fio_json('{"jobs": [{"error": 5}]}', pattern="seq-read")
    with pytest.raises(InputError, match="no I/O"):
        bench.parse_fio_json('{"jobs": [{"read": {"io_bytes": 0}}]}', pattern="seq-read")
    with pytest.raises(InputError, match="not readable"):
        bench.parse_fio_json('{"jobs": [{"read": {"io_bytes": "x"}}]}', pattern="seq-read")


def test_fio_args_describe_the_same_job():
    args = bench.fio_args(
        "/d", pattern="seq-write", file_bytes=MiB, block=4096, jobs=3, iodepth=8, direct=True, runtime=2.5
    )
    for want in (
        "--rw=write",
        "--bs=4096",
        f"--size={MiB}",
        "--numjobs=3",
        "--iodepth=8",
        "--ioengine=libaio",
        "--direct=1",
        "--end_fsync=1",
        "--runtime=2500ms",
        "--fallocate=none",
        "--directory=/d",
    ):
        assert want in args
    assert "--end_fsync=1" not in bench.fio_args(
        "/d", pattern="rand-read", file_bytes=MiB, block=4096, jobs=1, iodepth=1, direct=False
    )


def test_auto_engine_falls_back_without_fio(tmp_path, monkeypatch):
    monkeypatch.setattr(workloads, "fio_version", lambda: None)
    r = bench.measure_io(tmp_path, bench.IoJob(size=4 * MiB, jobs=1, iodepth=2), engine="auto")
    assert r.engine == "builtin" and any("fio is not installed" in n for n in r.notes)
    with pytest.raises(InputError, match="fio is not installed") as e:
        bench.measure_io(tmp_path, bench.IoJob(size=4 * MiB), engine="fio")
    assert e.value.field == "engine"


def test_direct_refused_falls_back_to_buffered(tmp_path, monkeypatch):
    monkeypatch.setattr(workloads._core, "direct_supported", lambda d: False)
    r = bench.measure_io(tmp_path, bench.IoJob(pattern="seq-write", size=4 * MiB, jobs=1), engine="builtin")
    assert r.direct is False
    assert any("refuses O_DIRECT" in n for n in r.notes)


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"pattern": "sideways"}, "pattern"),
        ({"block": 1000}, "block"),
        ({"block": 1000, "direct": False, "size": 100}, "size"),
        ({"jobs": 0}, "jobs"),
        ({"iodepth": 5000}, "iodepth"),
        ({"runtime": -1.0}, "runtime"),
    ],
)
def test_io_job_refuses(kw, field):
    with pytest.raises(InputError) as e:
        bench.IoJob(**kw)
    assert e.value.field == field


def test_scratch_checks(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        bench.measure_io(tmp_path / "nope", bench.IoJob(size=4 * MiB))
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        bench.measure_io(f, bench.IoJob(size=4 * MiB))
    with pytest.raises(InputError, match="GiB free") as e:
        bench.measure_io(tmp_path, bench.IoJob(size=1 << 62, block=1 << 30, jobs=1, iodepth=1))
    assert e.value.file == str(tmp_path) and e.value.field == "size"


def test_scratch_dir_is_removed_on_failure(tmp_path):
    with pytest.raises(RuntimeError), bench.scratch_dir(tmp_path) as run:
        (run / "x").write_bytes(b"1" * 100)
        raise RuntimeError("boom")
    _no_scratch_left(tmp_path)


def test_measure_metadata(tmp_path):
    r = bench.measure_metadata(tmp_path, bench.MetaJob(files=500, dirs=5, jobs=2, file_bytes=10))
    assert [p.name for p in r.phases] == ["create", "stat", "rename", "delete"]
    assert all(p.ops == 500 and p.ops_s > 0 and p.latency.p50_us > 0 for p in r.phases)
    d = msgspec.to_builtins(r.report())
    assert d["files"] == 500 and d["phases"][0]["ops_s"] == r.phases[0].ops_s
    _no_scratch_left(tmp_path)
