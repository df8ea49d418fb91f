"""Thresholds from a cluster YAML's bench: section and the command line, and the verdicts they give."""

from __future__ import annotations

import msgspec
import pytest

from fireflyer.errors import InputError
from fireflyer.fs3 import bench
from fireflyer.fs3.bench.graysort import SortJob, SortResult, Validation
from fireflyer.fs3.bench.metadata import MetaJob, MetaResult, PhaseResult
from fireflyer.fs3.bench.published import io_reference, sort_reference
from fireflyer.fs3.bench.reports import IoReport
from fireflyer.fs3.bench.thresholds import Metric
from fireflyer.fs3.bench.workloads import IoJob, Latency


def test_load_thresholds_from_a_cluster_yaml(tmp_path):
    f = tmp_path / "cluster.yaml"
    f.write_text(
        "name: prod\nnodes: [a, b]\nbench:\n  seq_read_gib_s: 10\n  rand_read_p99_ms: 2.5\n  min_share: 0.5\n"
    )
    t = bench.load_thresholds(f)
    assert (t.seq_read_gib_s, t.rand_read_p99_ms, t.min_share, t.warn_margin) == (10, 2.5, 0.5, 0.1)
    f.write_text("name: prod\n")
    assert bench.load_thresholds(f) == bench.Thresholds()


@pytest.mark.parametrize(
    "section, field, message",
    [
        ("bench:\n  seq_read_gbps: 10\n", "bench.seq_read_gbps", "unknown field"),
        ("bench:\n  seq_read_gib_s: -1\n", "bench.seq_read_gib_s", "expected"),
        ("bench:\n  seq_read_gib_s: fast\n", "bench.seq_read_gib_s", "expected"),
        ("bench:\n  warn_margin: 1.5\n", "bench.warn_margin", "expected"),
        ("bench: [1, 2]\n", "bench", "expected"),
    ],
)
def test_bad_bench_sections_name_the_field(tmp_path, section, field, message):
    f = tmp_path / "cluster.yaml"
    f.write_text(section)
    with pytest.raises(InputError) as e:
        bench.load_thresholds(f)
    assert e.value.file == str(f) and e.value.field == field and message in e.value.message.lower()


def test_overrides():
    assert bench.parse_overrides(["seq_read_gib_s=10", " sort_gib_s = 0.5"]) == {
        "seq_read_gib_s": 10.0,
        "sort_gib_s": 0.5,
    }
    for bad in ("seq_read_gib_s", "=3", "x=nan", "x=inf", "x=fast"):
        with pytest.raises(InputError) as e:
            bench.parse_overrides([bad])
        assert e.value.field == "threshold"
    base = bench.Thresholds(seq_read_gib_s=10, rand_read_iops=1000)
    t = bench.with_overrides(base, {"seq_read_gib_s": 3.0, "min_share": 0.2})
    assert (t.seq_read_gib_s, t.rand_read_iops, t.min_share) == (3.0, 1000, 0.2)
    with pytest.raises(InputError) as e:
        bench.with_overrides(base, {"nonsense": 1.0})
    assert e.value.field == "threshold.nonsense"


def test_verdicts_for_minimums_maximums_and_shares():
    ref = sort_reference(nodes=2).report()
    metrics = [
        Metric("seq_read_gib_s", "a", 10.0, "GiB/s"),
        Metric("rand_read_iops", "b", 1050.0, "IOPS"),
        Metric("meta_create_ops_s", "c", 900.0, "ops/s"),
        Metric("rand_read_p99_ms", "d", 1.9, "ms", maximum=True, primary=False),
        Metric("seq_write_p99_ms", "e", 9.0, "ms", maximum=True, primary=False),  # no threshold: not listed
        Metric("sort_gib_s", "f", ref.scaled * 0.52, "GiB/s", reference=ref),
        Metric("meta_stat_ops_s", "g", 5.0, "ops/s"),  # primary without threshold: listed, not judged
    ]
    t = bench.Thresholds(
        seq_read_gib_s=5,
        rand_read_iops=1000,
        meta_create_ops_s=1000,
        rand_read_p99_ms=2,
        sort_gib_s=0.1,
        min_share=0.5,
    )
    got = {v.check: v for v in bench.judge(metrics, t)}
    assert got["seq_read_gib_s"].status == "pass"
    assert got["rand_read_iops"].status == "warn"  # within 10% above the minimum
    assert got["meta_create_ops_s"].status == "fail"
    assert got["rand_read_p99_ms"].status == "warn"  # within 10% below the maximum
    assert "seq_write_p99_ms" not in got
    assert got["sort_gib_s"].status == "warn" and got["sort_gib_s"].share == pytest.approx(0.52)
    assert got["meta_stat_ops_s"].status is None and got["meta_stat_ops_s"].limit is None
    strict = bench.with_overrides(t, {"min_share": 0.6})
    assert {v.check: v for v in bench.judge(metrics, strict)}["sort_gib_s"].status == "fail"


def _suite_parts():
    lat = Latency(100.0, 900.0, 150.0, 10)
    io = []
    for p in bench.IO_PATTERNS:
        job = IoJob(pattern=p, size=1 << 20, jobs=1)
        ref = io_reference(p)
        io.append(
            IoReport(
                path="/p",
                host="h",
                engine="builtin",
                engine_version="x",
                pattern=p,
                size=job.size,
                block=job.block_bytes,
                jobs=1,
                iodepth=job.iodepth,
                runtime_limit_s=0.0,
                direct=True,
                bytes=1 << 20,
                ops=10,
                seconds=0.1,
                gib_s=2.0,
                iops=5000.0,
                latency=lat,
                published=None if ref is None else ref.report(),
                share=None if ref is None else ref.share(2.0),
                notes=[],
            )
        )
    meta = MetaResult("/p", MetaJob(), tuple(PhaseResult(n, 100, 0.01, lat) for n in ("create", "stat")))
    validation = Validation(
        100, 100, 2, 0, 1, True, 0, 0, ("1 partitions start below the end of the one before",)
    )
    sort = SortResult(
        "/p", SortJob(size=100 * 100), 2, 1, 2, "local", {"sort": 1.0}, validation, {}, sort_reference()
    )
    return io, meta, sort


def test_suite_metrics_and_a_failed_sort_check():
    io, meta, sort = _suite_parts()
    metrics = bench.metrics_of(io, meta, sort)
    checks = [m.check for m in metrics]
    assert checks[:3] == ["seq_write_gib_s", "seq_write_iops", "seq_write_p99_ms"]
    assert {"seq_read_gib_s", "rand_read_iops", "meta_create_ops_s", "sort_gib_s", "sort_problems"} <= set(
        checks
    )
    verdicts = bench.judge(metrics, bench.Thresholds())
    by = {v.check: v for v in verdicts}
    assert (
        by["sort_problems"].status == "fail" and by["sort_problems"].limit == 0
    )  # judged without a threshold
    assert by["seq_read_gib_s"].published == pytest.approx(6.6 * 1024 / 500)
    assert by["seq_read_gib_s"].label == "seq-read 1 MiB" and by["rand_read_iops"].label == "rand-read 4 KiB"
    suite = bench.SuiteResult("/p", tuple(io), meta, sort, bench.Thresholds(), tuple(verdicts))
    d = msgspec.to_builtins(suite.report())
    assert not d["passed"] and d["counts"]["fail"] == 1 and d["counts"]["unchecked"] == len(verdicts) - 1
    assert [v.check for v in suite.failed] == ["sort_problems"]


def test_kvcache_figures_on_one_host_and_the_suite_job():
    lat = Latency(2000.0, 9000.0, 2500.0, None)
    ref = bench.kvcache_reference(nodes=1)
    kv = bench.KvReport(
        path="/p", host="h", engine_version="fio-3.33", block=bench.KV_BLOCK, files=8, file_size=1 << 30,
        concurrency=64, jobs=8, seconds_limit=1.0, direct=True, bytes=30 << 30, ops=7000, seconds=1.0,
        gib_s=30.0, iops=7000.0, latency=lat, published=ref.report(), share=ref.share(30.0), notes=[],
    )  # fmt: skip
    io, meta, _ = _suite_parts()
    t = bench.Thresholds(kvcache_client_gib_s=35, kvcache_p99_ms=10, min_share=0.5)
    got = {v.check: v for v in bench.judge(bench.metrics_of(io, meta, None, kv), t)}
    client = got["kvcache_client_gib_s"]
    assert client.measured == 30.0 and client.published == 40.0 and client.share == pytest.approx(0.75)
    assert client.status == "fail" and client.why.startswith("kvcache_client_gib_s >= 35: fail")
    assert got["kvcache_p99_ms"].status == "pass" and "kvcache_gib_s" not in got  # one host: one figure
    job = bench.SuiteJob(io_size=64 << 20, jobs=2, iodepth=8, kvcache_seconds=2.0).kv_job()
    assert job is not None and (job.files, job.file_size, job.concurrency, job.seconds) == (
        8,
        8 << 20,
        16,
        2.0,
    )
    assert bench.SuiteJob(io_size=1 << 20).kv_job() is None
    assert bench.SuiteJob(io_size=1 << 20, kvcache_seconds=1.0).kv_job().file_size == bench.KV_BLOCK
