"""render: golden files, TOML keys that 3FS knows (checked against its default dumps), every validation
error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomllib

from fireflyer.errors import InputError
from fireflyer.fs3 import load, render
from fireflyer.fs3.example import example_yaml
from fireflyer.fs3.rendering import monitor_sql, write
from tests.conftest import FIXTURES, run_flyer

from .clusters import edit, write_cluster

CONFIGS = FIXTURES / "3fs-configs"
GOLDEN = Path(__file__).parent / "golden"


def _keys(doc, prefix=""):
    """Every key path in a TOML document; elements of arrays of tables share their array's path."""
    out = set()
    for k, v in doc.items():
        path = f"{prefix}.{k}" if prefix else k
        out.add(path)
        if isinstance(v, dict):
            out |= _keys(v, path)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                out |= _keys(x, path)
    return out


def test_example_renders(tmp_path):
    (tmp_path / "cluster.yaml").write_text(example_yaml())
    (tmp_path / "fdb.cluster").write_text("x:y@127.0.0.1:4500\n")
    b = render(load(tmp_path / "cluster.yaml"))
    assert b.layout.shape.chains_per_disk == 10 and len(b.chains) == 160
    assert [n for n in b.files] == ["meta", "storage1", "storage2", "storage3", "storage4", "storage5"]


@pytest.mark.skipif(not CONFIGS.is_dir(), reason="3FS's default config dumps are not in ../shared/fixtures")
def test_every_key_exists_in_3fs_defaults(tmp_path):
    (tmp_path / "cluster.yaml").write_text(example_yaml())
    (tmp_path / "fdb.cluster").write_text("x:y@127.0.0.1:4500\n")
    c = load(tmp_path / "cluster.yaml")
    c.nodes[0].root = "/srv/stage"  # moved logs: the log handler keys are written too
    b = render(c)
    checked = 0
    for files in b.files.values():
        for f in files:
            name = os.path.basename(f.path)
            if not name.endswith(".toml"):
                continue
            dump = CONFIGS / name
            assert dump.is_file(), f"no 3FS dump for {name}"
            known = _keys(tomllib.loads(dump.read_text()))
            written = _keys(tomllib.loads(f.data.decode()))
            assert written <= known, f"{name}: keys 3FS does not know: {sorted(written - known)}"
            checked += 1
    assert checked >= 15


@pytest.mark.skipif(not CONFIGS.is_dir(), reason="3FS's monitoring SQL is not in ../shared/fixtures")
def test_monitor_sql_matches_3fs():
    norm = lambda s: " ".join(s.split())  # noqa: E731
    assert norm(monitor_sql()) == norm((CONFIGS / "3fs-monitor.sql").read_text())


@pytest.mark.skipif(not CONFIGS.is_dir(), reason="3FS's systemd units are not in ../shared/fixtures")
def test_units_match_3fs(tmp_path):
    b = render(load(write_cluster(tmp_path)))
    units = {
        os.path.basename(f.path): f.data.decode()
        for fl in b.files.values()
        for f in fl
        if f.path.endswith(".service")
    }
    for name, text in units.items():
        ours = {ln for ln in text.splitlines() if ln}
        theirs = {ln for ln in (CONFIGS / name).read_text().splitlines() if ln}
        assert ours == theirs, name


def test_golden(tmp_path):
    cluster = write_cluster(tmp_path, storage=3, disks=2)
    out = tmp_path / "out"
    write(render(load(cluster)), out)
    got = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}
    if os.environ.get("FLYER_UPDATE_GOLDEN"):
        for rel, text in got.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text)
    want = {str(p.relative_to(GOLDEN)): p.read_text() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert sorted(got) == sorted(want)
    for rel in want:
        assert got[rel] == want[rel], rel
    assert os.stat(out / "meta/opt/3fs/etc/admin_cli_init.sh").st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    "change, field, message",
    [
        (lambda d: d["nodes"].append(dict(d["nodes"][1])), "nodes[4].name", "used twice"),
        (lambda d: d["nodes"][2].update(host=d["nodes"][1]["host"]), "nodes[2].host", "is also node"),
        (lambda d: d["nodes"][2].update(storage_id=1), "storage_id", "also the mgmtd id"),
        (
            lambda d: (
                d.update(ports={"storage": {"rdma": 8000, "tcp": 9000}})
                or d["nodes"][0]["roles"].append("storage")
            ),
            "ports.storage.rdma",
            "port 8000",
        ),
        (lambda d: d["storage"].update(stripe_size=1000), "storage.stripe_size", "exceeds"),
        (
            lambda d: d["foundationdb"].update(cluster_file="missing.cluster"),
            "foundationdb.cluster_file",
            "not found",
        ),
        (lambda d: d.update(nodes=d["nodes"][:2]), "nodes", "at least two"),
        (lambda d: d["nodes"][0].update(roles=["monitor", "fuse"]), "nodes", "role mgmtd"),
        (
            lambda d: d["nodes"][2].update(disks=[{"path": "/other"}, {"path": "/storage/data2"}]),
            "disks",
            "other paths",
        ),
        # duplicates compare normalised values: host names in any case, addresses in any spelling
        (
            lambda d: (
                d["nodes"][1].update(host="Node1.Example.com"),
                d["nodes"][2].update(host="node1.example.com"),
            ),
            "nodes[2].host",
            "is also node",
        ),
        (
            lambda d: (d["nodes"][1].update(host="fd00::1"), d["nodes"][2].update(host="fd00:0:0::1")),
            "nodes[2].host",
            "is also node",
        ),
        (lambda d: d["nodes"][2].update(name="STORAGE1"), "nodes[2].name", "used twice"),
        (
            lambda d: d["storage"]["disks"].append({"path": "/storage/data1"}),
            "storage.disks[2].path",
            "listed twice",
        ),
        (
            lambda d: (
                d["storage"]["disks"][1].update(device="/dev/nvme0n1")
                or d["storage"]["disks"][0].update(device="/dev/nvme0n1")
            ),
            "storage.disks[1].device",
            "listed twice",
        ),
    ],
)
def test_validation_errors(tmp_path, change, field, message):
    path = edit(write_cluster(tmp_path), change)
    with pytest.raises(InputError) as e:
        render(load(path))
    assert message in e.value.message and field in (e.value.field or "")
    assert e.value.file == str(path)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["nodes"][0].update(roles=["chef"]), "nodes[0].roles[0]"),
        (lambda d: d["storage"].update(replication="three"), "storage.replication"),
        (lambda d: d["nodes"][1].update(root="relative/dir"), "nodes[1].root"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, change, field):
    path = edit(write_cluster(tmp_path), change)
    res = run_flyer("fs3", "render", str(path), "--out", str(tmp_path / "o"))
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and field in line and str(path) in line


def test_bench_mapping_is_accepted(tmp_path):
    path = write_cluster(tmp_path, extra={"bench": {"read_gbps": 10.0}})
    assert load(path).bench == {"read_gbps": 10.0}
