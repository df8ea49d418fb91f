"""`fs3 bench io|meta|kvcache` on every client node of a Ray cluster at once: a real Ray cluster of three
nodes on this machine (Ray's own ``ray.cluster_utils.Cluster``: a head and two more raylets, one CPU and
100 MB of object store each), one job per node, the aggregate the sum of the per-node figures, and a node
removed mid-run failing the run with its name. Real fio runs the I/O."""

from __future__ import annotations

import math
import threading

import msgspec
import pytest

from fireflyer.errors import CheckFailed, InputError
from fireflyer.fs3 import bench
from fireflyer.fs3.bench.reports import IoClientsReport, KvClientsReport, MetaClientsReport
from fireflyer.fs3.bench.scratch import PREFIX
from tests.conftest import run_flyer

MiB = 1 << 20
needs_fio = pytest.mark.skipif(
    bench.fio_version() is None, reason="fio is not installed (apt-get install fio)"
)
NODE = {"num_cpus": 1, "object_store_memory": 100 * MiB}


@pytest.fixture(scope="module")
def cluster():
    cluster_utils = pytest.importorskip("ray.cluster_utils", reason="Ray is not installed (fireflyer[bench])")
    c = cluster_utils.Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    try:
        for _ in range(2):
            c.add_node(**NODE)
        c.wait_for_nodes()
        yield c
    finally:
        c.shutdown()


def _no_scratch_left(path):
    assert not [p for p in path.iterdir() if p.name.startswith(PREFIX)]


def _node_ids(cluster) -> set[str]:
    return {n.node_id for n in cluster.list_all_nodes()}


@needs_fio
def test_io_on_every_node_sums_to_the_aggregate(cluster, tmp_path):
    r = bench.measure_io_clients(
        tmp_path,
        bench.IoJob(pattern="seq-read", size=8 * MiB, jobs=1, iodepth=4),
        on=bench.BenchHosts(address=cluster.address, storage_nodes=2),
    )
    assert isinstance(r, IoClientsReport) and len(r.clients) == 3
    assert {c.node.node_id for c in r.clients} == _node_ids(cluster)  # one job per node
    a = r.aggregate
    assert a.clients == 3 and a.bytes == sum(c.result.bytes for c in r.clients) == 3 * 8 * MiB
    assert math.isclose(a.gib_s, sum(c.result.gib_s for c in r.clients))
    assert math.isclose(a.iops, sum(c.result.iops for c in r.clients))
    assert a.latency.p99_us_max == max(c.result.latency.p99_us for c in r.clients)
    storage, per_client = r.published
    assert storage.published.nodes == 2 and storage.published.per_node == pytest.approx(6.6 * 1024 / 180)
    assert per_client.published.nodes == 3 and per_client.share == pytest.approx(
        a.gib_s / (3 * 6.6 * 1024 / 500)
    )
    assert 0 <= r.window.start_spread_s <= r.window.wall_s
    assert min(c.started_s for c in r.clients) == 0.0
    _no_scratch_left(tmp_path)


@needs_fio
def test_kvcache_on_named_hosts(cluster, tmp_path):
    ip = cluster.head_node.node_ip_address  # every node of this cluster has the same IP: all three match
    job = bench.KvJob(block=256 * 1024, files=2, file_size=4 * MiB, concurrency=4, jobs=2, seconds=0.5)
    on = bench.BenchHosts(address=cluster.address, clients=bench.Clients.parse(ip))
    r = bench.measure_kvcache_clients(tmp_path, job, on=on)
    assert isinstance(r, KvClientsReport) and len(r.clients) == 3
    assert all(c.result.block == 256 * 1024 and c.result.ops > 0 for c in r.clients)
    assert math.isclose(r.aggregate.gib_s, sum(c.result.gib_s for c in r.clients))
    (ref,) = r.published
    assert ref.published.scaled == 3 * 40.0 and ref.share == pytest.approx(r.aggregate.gib_s / 120)
    _no_scratch_left(tmp_path)


def test_meta_on_two_clients_through_the_cli(cluster, tmp_path):
    res = run_flyer(
        "fs3", "bench", "meta", str(tmp_path), "--files", "200", "--dirs", "4", "--jobs", "2",
        "--ray-address", cluster.address, "--clients", "2", "--json", timeout=180,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    r = msgspec.json.decode(res.stdout, type=bench.MetaReport | MetaClientsReport, strict=True)
    assert isinstance(r, MetaClientsReport) and len(r.clients) == 2
    for i, phase in enumerate(r.phases):
        each = [c.result.phases[i] for c in r.clients]
        assert phase.ops == sum(p.ops for p in each) == 400
        assert math.isclose(phase.ops_s, sum(p.ops_s for p in each))
    _no_scratch_left(tmp_path)


def test_unknown_hosts_and_too_many_clients_are_refused(cluster, tmp_path):
    with pytest.raises(InputError, match="no live Ray node is 'nosuchhost'") as e:
        bench.measure_meta_clients(tmp_path, on=bench.BenchHosts.from_options(cluster.address, "nosuchhost"))
    assert e.value.field == "clients"
    with pytest.raises(InputError, match="asked for 9 clients; the Ray cluster has 3"):
        bench.measure_meta_clients(tmp_path, on=bench.BenchHosts.from_options(cluster.address, "9"))


@pytest.mark.parametrize("text", ["0", "a;b", "host,", "-x", "a b", "x" * 300, "$(reboot)"])
def test_clients_option_is_checked_by_pattern(text):
    with pytest.raises(InputError) as e:
        bench.Clients.parse(text)
    assert e.value.field == "clients"


def test_clients_option_forms():
    assert bench.Clients.parse("all") == bench.Clients()
    assert bench.Clients.parse("4") == bench.Clients(count=4)
    assert bench.Clients.parse("a.example,10.0.0.3,a.example,::1").hosts == ("a.example", "10.0.0.3", "::1")


def test_clients_without_a_ray_address_exit_2(tmp_path):
    res = run_flyer("fs3", "bench", "io", str(tmp_path), "--clients", "2")
    assert res.returncode == 2 and "--ray-address" in res.stderr
    assert res.stderr.strip().splitlines() == [
        "flyer: error: clients: --clients needs --ray-address (a Ray cluster)"
    ]


def test_where_a_bench_runs_is_checked_once_in_its_record():
    """BenchHosts refuses what each command's options would: no bench call needed to find a bad value."""
    with pytest.raises(InputError, match="--clients needs --ray-address") as e:
        bench.BenchHosts(clients=bench.Clients(count=2))
    assert e.value.field == "clients"
    cases = [
        ({"address": "not an address"}, "ray_address", "expected HOST:PORT"),
        ({"address": "10.0.0.1:0"}, "ray_address", "expected HOST:PORT"),
        ({"address": "10.0.0.1:6379; reboot"}, "ray_address", "expected HOST:PORT"),
        ({"timeout": 0.0}, "ray_timeout", r"\(0, 3600\]"),
        ({"timeout": math.nan}, "ray_timeout", r"\(0, 3600\]"),
        ({"storage_nodes": 0}, "storage_nodes", "must be 1..100000"),
    ]
    for kwargs, field, message in cases:
        with pytest.raises(InputError, match=message) as e:
            bench.BenchHosts(**kwargs)
        assert e.value.field == field, kwargs
    on = bench.BenchHosts.from_options("ray://[::1]:10001", "a,b", 180, 5.0)
    assert on == bench.BenchHosts(
        address="ray://[::1]:10001", clients=bench.Clients(hosts=("a", "b")), storage_nodes=180, timeout=5.0
    )
    assert bench.BenchHosts.from_options(None) == bench.BenchHosts()
    with pytest.raises(InputError, match="needs a Ray cluster"):
        bench.measure_meta_clients("/nonexistent", on=bench.BenchHosts())


@needs_fio
def test_a_node_that_dies_mid_run_fails_the_run_naming_it(cluster, tmp_path):
    doomed = cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    job = bench.KvJob(block=256 * 1024, files=1, file_size=4 * MiB, concurrency=2, jobs=1, seconds=12)
    killer = threading.Timer(5.0, cluster.remove_node, args=(doomed,))
    killer.start()
    try:
        with pytest.raises(CheckFailed) as e:
            bench.measure_kvcache_clients(tmp_path, job, on=bench.BenchHosts(address=cluster.address))
    finally:
        killer.join()
    msg = str(e.value)
    assert "died mid-run" in msg and doomed.node_id in msg and doomed.node_ip_address in msg
    # the other nodes' jobs were cancelled: fio stopped and their directories removed
    others = [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]
    assert len(others) <= 1  # at most the dead node's own, which nothing was left to remove


@needs_fio
def test_all_across_clients_gates_on_the_aggregate(cluster, tmp_path):
    """`all` on the three nodes: every io, meta and kvcache figure it judges is the clients' aggregate (the
    summary's figure is the aggregate's; a limit between the best client and the aggregate passes the
    aggregate and fails every client alone), the thresholds name it, and --junit is one testcase each."""
    from tests.shared.test_junit import failed, read

    junit = tmp_path / "bench.xml"
    work = tmp_path / "work"
    work.mkdir()
    res = run_flyer(
        "fs3", "bench", "all", str(work), "--size", "8MiB", "--jobs", "1", "--iodepth", "4", "--files", "60",
        "--dirs", "2", "--kvcache", "0.5", "--no-sort", "--ray-address", cluster.address, "--clients", "all",
        "--storage-nodes", "2", "--threshold", "seq_read_gib_s=1e-6", "--threshold",
        "kvcache_client_gib_s=1e-6", "--threshold", "meta_create_ops_s=1e12", "--json", "--junit", str(junit),
        timeout=300,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    r = msgspec.json.decode(res.stdout, type=bench.SuiteReport, strict=True)
    assert res.stderr.strip().splitlines() == [
        f"flyer: error: 1 of {len(r.summary)} figures missed their threshold: meta_create_ops_s"
    ]
    assert r.clients == 3 and r.ray_address == cluster.address and r.sort is None
    io = {x.pattern: x for x in r.io}
    assert all(isinstance(x, IoClientsReport) and len(x.clients) == 3 for x in io.values())
    assert isinstance(r.meta, MetaClientsReport) and isinstance(r.kvcache, KvClientsReport)
    by = {v.check: v for v in r.summary}
    seq = io["seq-read"]
    assert isinstance(seq, IoClientsReport)
    assert by["seq_read_gib_s"].measured == seq.aggregate.gib_s and by["seq_read_gib_s"].status == "pass"
    assert by["seq_read_gib_s"].published == pytest.approx(3 * 6.6 * 1024 / 500)  # 3 clients bound it
    assert "(aggregate of 3 clients)" in by["seq_read_gib_s"].why
    assert (
        by["meta_create_ops_s"].measured == r.meta.phases[0].ops_s
        and by["meta_create_ops_s"].status == "fail"
    )
    kv = by["kvcache_client_gib_s"]
    assert kv.measured == pytest.approx(r.kvcache.aggregate.gib_s / 3) and kv.published == 40.0
    # a limit the aggregate meets and no client alone does
    each = [c.result.gib_s for c in seq.clients]
    limit = (max(each) + seq.aggregate.gib_s) / 2
    strict = bench.Thresholds(seq_read_gib_s=limit)
    (on_all,) = [
        v for v in bench.judge(bench.metrics_of(r.io, r.meta, None), strict) if v.check == "seq_read_gib_s"
    ]
    assert on_all.status in ("pass", "warn")
    for c in seq.clients:
        (alone,) = [
            v
            for v in bench.judge(bench.metrics_of([c.result], r.meta, None), strict)
            if v.check == "seq_read_gib_s"
        ]
        assert alone.status == "fail"
    # --junit: one testcase per figure, the aggregate against its limit
    suite, cases = read(junit)
    assert suite.tests == len(r.summary) and suite.failures == 1
    assert failed(cases["fs3.bench/meta_create_ops_s"]) and not failed(cases["fs3.bench/seq_read_gib_s"])
    assert (
        "meta_create_ops_s (sum over 3 clients) >= 1e+12"
        in cases["fs3.bench/meta_create_ops_s"].result[0].message
    )
    assert [p for p in work.iterdir()] == []
