"""`flyer fs3 bench` against hostile input, by class: counts past the core's range (refused at parsing),
paths that are not storage, and bad `bench:` sections and thresholds: each exits 2 with one line, writes
nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fireflyer.errors import InputError
from fireflyer.fs3 import bench
from tests.conftest import run_flyer

QUICK = ["--size", "4MiB", "--jobs", "1", "--iodepth", "1", "--engine", "builtin"]
QUICK_ALL = [*QUICK, "--no-sort", "--files", "10", "--dirs", "1"]


def one_error_line(res) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, expect",
    [
        (["io", "--jobs", "99999999999"], "'--jobs': must be 1..4096"),
        (["io", "--iodepth", str(2**64)], "'--iodepth'"),
        (["io", "--runtime", "1e300"], "'--runtime': must be <= 604800"),
        (["meta", "--files", "99999999999"], "'--files': must be 1..4294967296"),
        (["meta", "--dirs", "-1"], "'--dirs': must be 1.."),
        (["sort", "--partitions", "99999999999"], "'--partitions': must be 1..65536"),
        (["sort", "--seed", "-1"], "'--seed': must be 0.."),
        (["sort", "--ray-timeout", "1e300"], "'--ray-timeout': must be <= 3600"),
        (["all", "--no-sort", "--files", str(2**40)], "'--files'"),
    ],
)
def test_counts_past_the_core_s_range_are_refused_at_parsing(tmp_path, args, expect):
    line = one_error_line(run_flyer("fs3", "bench", args[0], str(tmp_path), *args[1:]))
    assert expect in line, line
    assert list(tmp_path.iterdir()) == []


def test_paths_that_are_not_storage(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "PATH is empty" in one_error_line(run_flyer("fs3", "bench", "meta", ""))
    assert "not a directory" in one_error_line(run_flyer("fs3", "bench", "io", str(fifo), *QUICK))
    line = one_error_line(run_flyer("fs3", "bench", "meta", "/proc", "--files", "10", "--dirs", "1"))
    assert line.startswith("flyer: error: /proc: on proc, a kernel interface"), line
    if bench.scratch.fs_type("/dev") == "devtmpfs":  # root could write there
        assert "on devtmpfs" in one_error_line(run_flyer("fs3", "bench", "sort", "/dev", "--size", "1KiB"))
    assert "not a directory" in one_error_line(run_flyer("fs3", "bench", "meta", "/proc/self/fd/0"))


@pytest.mark.parametrize(
    "text, expect",
    [
        ("bench: [1, 2]\n", "bench: expected object, got array"),
        ("bench: fast\n", "bench: expected object, got str"),
        ("bench:\n  seq_read_gib_s: true\n", "bench.seq_read_gib_s: expected float | null, got bool"),
        ("bench:\n  seq_read_gib_s: .inf\n", "bench.seq_read_gib_s"),
        ("bench:\n  seq_read_gib_s: .nan\n", "bench.seq_read_gib_s"),
        ("bench:\n  seq_read_gib_s: {a: 1}\n", "bench.seq_read_gib_s: expected float | null, got object"),
        ("bench:\n  warn_margin: 1\n", "bench.warn_margin"),
        ("bench:\n  1: 2\n", "bench"),
        ("bench:\n  sort_gib_s: 1\n  sort_gib_s: 2\n", "duplicate key 'sort_gib_s'"),
        ("- a\n- b\n", "expected a mapping at the top level"),
    ],
)
def test_bad_bench_sections(tmp_path, text, expect):
    work, cluster = tmp_path / "work", tmp_path / "cluster.yaml"
    work.mkdir()
    cluster.write_text(text)
    line = one_error_line(run_flyer("fs3", "bench", "all", str(work), *QUICK_ALL, "--cluster", str(cluster)))
    assert str(cluster) in line and expect in line, line
    assert list(work.iterdir()) == []


def test_cluster_files_that_are_not_regular_files(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for path, expect in ((fifo, "found a FIFO"), (zero, "found a character device")):
        res = run_flyer("fs3", "bench", "all", str(tmp_path), *QUICK_ALL, "--cluster", str(path))
        assert expect in one_error_line(res)


@pytest.mark.parametrize(
    "override",
    [
        "=5",
        "seq_read_gib_s=inf",
        "seq_read_gib_s=1e400",
        "warn_margin=nan",
        "min_share=-1",
        "sort_problems=0",
    ],
)
def test_bad_threshold_overrides(tmp_path, override):
    res = run_flyer("fs3", "bench", "all", str(tmp_path), *QUICK_ALL, "--threshold", override)
    line = one_error_line(res)
    assert "threshold" in line, line


def test_the_library_refuses_what_the_options_refuse():
    with pytest.raises(InputError, match="runtime: must be 0..604800"):
        bench.IoJob(runtime=1e300)
    with pytest.raises(InputError, match="ray_timeout"):
        bench.BenchHosts(address="127.0.0.1:1", timeout=1e300)
    with pytest.raises(InputError, match="PATH is empty"):
        bench.check_target("", what="the test")
    assert bench.scratch.fs_type(Path("/proc/self")) == "proc"
