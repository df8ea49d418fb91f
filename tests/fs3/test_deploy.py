"""deploy, status and teardown for real, over SSH to a loopback OpenSSH server: three "hosts" (loopback
addresses, each with its own root directory), stand-in 3FS executables (see standins.py)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from pathlib import Path

import msgspec
import pytest
import yaml

from tests.conftest import run_flyer

from . import fleet, sshd, standins
from .clusters import write_cluster
from .results import decoded

pytestmark = pytest.mark.skipif(sshd.skip_reason() is not None, reason=sshd.skip_reason() or "")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = sshd.start(tmp_path_factory.mktemp("sshd"))
    yield s
    sshd.stop(s)


@pytest.fixture
def cluster(server, tmp_path):
    roots = {name: str(tmp_path / "hosts" / name) for name in ("meta", "storage1", "storage2")}
    for name in ("storage1", "storage2"):
        for i in (1, 2):
            Path(roots[name], f"storage/data{i}").mkdir(parents=True)
    Path(roots["meta"]).mkdir(parents=True)
    state = tmp_path / "state"
    standins.make(tmp_path / "bin", state)
    path = write_cluster(
        tmp_path,
        storage=2,
        roots=roots,
        ssh={"user": "root", "port": server.port, "key": str(server.key)},
        extra={"service_manager": "pidfile"},
    )
    doc = yaml.safe_load(path.read_text())
    for i, n in enumerate(doc["nodes"]):
        n["host"] = sshd.ADDRESSES[i]
    doc["storage"]["replication"] = 2
    doc["storage"]["aio_max_nr"] = 1  # no sysctl change on this shared machine
    doc["monitor"]["clickhouse"]["client"] = str(tmp_path / "bin" / "clickhouse-client")
    (tmp_path / "ch.password").write_text("s3cret-ch\n")
    doc["monitor"]["clickhouse"]["password_file"] = "ch.password"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    yield path, roots, state
    # a failed test may leave stand-ins running: stop every one that registered (they write their pid)
    for reg in (state / "nodes").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(json.loads(reg.read_text())["pid"], 15)


def flyer(server, *args, kh=None):
    return run_flyer(*args, "--known-hosts", str(kh or server.known_hosts), "--timeout", "5")


def test_deploy_resume_twice_status_teardown(server, cluster):
    path, roots, state = cluster
    before = fleet.tree(roots)

    dry = flyer(server, "fs3", "deploy", str(path), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] and plan["changed"] > 0
    assert decoded("deploy", dry.stdout).changed == plan["changed"]
    assert fleet.tree(roots) == before  # a dry run changes nothing

    # a step fails: deploy stops there, names the host, the step and admin_cli's message
    (state / "fail-upload-chains").write_text("")
    failed = flyer(server, "fs3", "deploy", str(path))
    errors = [ln for ln in failed.stderr.splitlines() if ln.startswith("flyer: error:")]
    assert failed.returncode == 1 and len(errors) == 1
    assert "meta at upload-chains: " in errors[0] and "upload-chains failed" in errors[0]
    assert "finishes only what is left" in errors[0]
    (state / "fail-upload-chains").unlink()

    # the next run resumes at that step
    resumed = flyer(server, "fs3", "deploy", str(path), "--json")
    assert resumed.returncode == 0, resumed.stderr
    done = json.loads(resumed.stdout)
    steps = [a["step"] for a in done["actions"] if a["changed"]]
    assert steps == ["upload-chains", "upload-chain-table", "set-config-fuse", "fuse"]
    skipped = [a["step"] for a in done["actions"] if a["what"].endswith("(done before)")]
    assert skipped == [
        "clickhouse-tables",
        "init-cluster",
        "set-config-meta",
        "set-config-storage",
        "user-add",
        "create-targets",
    ]  # fmt: skip  (the guide's order)
    assert all(fleet.running(roots).values()) and len(fleet.running(roots)) == 6
    token = Path(roots["meta"], "opt/3fs/etc/token.txt")
    assert os.stat(token).st_mode & 0o777 == 0o600
    secret = token.read_text().strip()
    assert secret and all(secret not in r.stdout + r.stderr for r in (dry, failed, resumed))
    admin = json.loads((state / "admin.json").read_text())
    assert admin["init"] == ["--mgmtd", f"{roots['meta']}/opt/3fs/etc/mgmtd_main.toml", "1", "1048576", "4"]
    assert len(admin["targets"]) == 2 * 2 * 2 and len(admin["chains"]) == 2 * 2  # nodes x disks x r
    assert "CREATE TABLE IF NOT EXISTS 3fs.counters" in (state / "clickhouse.sql").read_text()
    assert (state / "clickhouse.password").read_text() == "s3cret-ch"  # from a 0600 file, not an argument
    collector = Path(roots["meta"], "opt/3fs/etc/monitor_collector_main.toml")
    assert os.stat(collector).st_mode & 0o777 == 0o600 and "s3cret-ch" in collector.read_text()
    assert all("s3cret-ch" not in r.stdout + r.stderr for r in (dry, failed, resumed))

    again = flyer(server, "fs3", "deploy", str(path))
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout

    ok = flyer(server, "fs3", "status", str(path), "--json")
    assert ok.returncode == 0, ok.stderr + ok.stdout
    health = json.loads(ok.stdout)
    assert decoded("status", ok.stdout).ok
    assert health["ok"] and health["targets"]["total"] == 8 and health["nodes"]["total"] == 4

    # a storage node goes down: its targets stop serving, status fails; deploy brings it back
    os.kill(int(Path(roots["storage1"], "opt/3fs/run/storage_main.pid").read_text()), 15)
    bad = flyer(server, "fs3", "status", str(path))
    assert bad.returncode == 1 and "OFFLINE" in bad.stdout + bad.stderr
    fixed = flyer(server, "fs3", "deploy", str(path), "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert [a["what"] for a in json.loads(fixed.stdout)["actions"] if a["changed"]] == ["start storage_main"]

    gone = flyer(server, "fs3", "teardown", str(path), "--yes", "--purge-data")
    assert gone.returncode == 0, gone.stderr
    assert not any(fleet.running(roots).values())
    left = fleet.tree(roots) - before
    assert left == set(), sorted(left)


def test_host_key_checks(server, cluster, tmp_path):
    path, roots, _ = cluster
    empty = tmp_path / "kh-empty"
    empty.write_text("")
    res = flyer(server, "fs3", "deploy", str(path), "--dry-run", kh=empty)
    assert res.returncode == 1 and "host key unknown" in res.stderr and "--accept-new-host-keys" in res.stderr
    res = run_flyer(
        "fs3", "deploy", str(path), "--dry-run", "--known-hosts", str(empty), "--accept-new-host-keys"
    )
    assert res.returncode == 0, res.stderr
    assert len(empty.read_text().splitlines()) == 3  # one line per host, recorded
    # a changed key is refused even with --accept-new-host-keys
    other = tmp_path / "other"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other}")
    wrong = tmp_path / "kh-wrong"
    pub = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    wrong.write_text("".join(f"[{a}]:{server.port} {pub}\n" for a in sshd.ADDRESSES))
    res = run_flyer(
        "fs3", "deploy", str(path), "--dry-run", "--known-hosts", str(wrong), "--accept-new-host-keys"
    )
    assert res.returncode == 1 and "does not match" in res.stderr


def test_wrong_credentials_and_unreachable(server, cluster, tmp_path):
    path, _, _ = cluster
    doc = yaml.safe_load(path.read_text())
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {tmp_path / 'stranger'}")
    doc["ssh"]["key"] = str(tmp_path / "stranger")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    res = flyer(server, "fs3", "deploy", str(bad), "--dry-run")
    assert (
        res.returncode == 1 and "permission denied" in res.stderr and "failed on 3 of 3 hosts" in res.stderr
    )
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("flyer: error:")]) == 1

    # a host that accepts TCP but never answers: the per-host timeout
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    doc = yaml.safe_load(path.read_text())
    doc["ssh"]["port"] = silent.getsockname()[1]
    doc["nodes"] = doc["nodes"]
    mute = tmp_path / "mute.yaml"
    mute.write_text(yaml.safe_dump(doc))
    kh = tmp_path / "kh-mute"
    kh.write_text("".join(f"[{a}]:{doc['ssh']['port']} {server.host_pub}\n" for a in sshd.ADDRESSES))
    res = run_flyer("fs3", "deploy", str(mute), "--dry-run", "--known-hosts", str(kh), "--timeout", "1")
    assert res.returncode == 1 and "unreachable" in res.stderr
    silent.close()


def test_preflight_over_ssh(server, cluster):
    path, roots, _ = cluster
    res = flyer(server, "fs3", "preflight", str(path), "--json")
    data = json.loads(res.stdout)
    assert res.returncode == (1 if data["counts"]["fail"] else 0)
    by_host: dict[str, set[str]] = {}
    for c in data["checks"]:
        by_host.setdefault(c["host"], set()).add(c["name"])
    assert set(by_host) == {"meta", "storage1", "storage2"}
    disk = f"disk {roots['storage1']}/storage/data1"
    assert disk in by_host["storage1"] and "aio-max-nr" in by_host["storage1"]
    assert "fuse" in by_host["meta"] and "port 8000" in by_host["meta"] and "fuse" not in by_host["storage2"]
    # the test's disk directories are plain directories on the root file system: not mount points
    check = next(c for c in data["checks"] if c["name"] == disk)
    assert check["status"] == "fail" and "mount" in check["fix"]


def test_missing_disk_path_is_refused(server, cluster):
    path, roots, _ = cluster
    Path(roots["storage2"], "storage/data2").rmdir()
    res = flyer(server, "fs3", "deploy", str(path), "--dry-run")
    assert res.returncode == 1 and "storage2" in res.stderr and "storage/data2 does not exist" in res.stderr
    assert not Path(roots["storage2"], "storage/data2").exists()


def test_teardown_removes_only_what_deploy_created(server, cluster):
    path, roots, _ = cluster
    old_log = Path(roots["storage1"], "var/log/3fs/old.log")  # a log directory that was there before
    old_log.parent.mkdir(parents=True)
    old_log.write_text("before flyer\n")
    before = fleet.tree(roots)
    done = flyer(server, "fs3", "deploy", str(path))
    assert done.returncode == 0, done.stderr
    created = fleet.tree(roots) - before
    files = {p for p in created if Path(p).is_file()}
    dirs = {p for p in created if Path(p).is_dir()}
    # another program writes into every directory deploy created or wrote into, after the deploy
    planted = [Path(d, "foreign.keep") for d in sorted(dirs | {str(Path(p).parent) for p in created})]
    for f in planted:
        f.write_text("not flyer's\n")

    gone = flyer(server, "fs3", "teardown", str(path), "--yes", "--json")
    assert gone.returncode == 0, gone.stderr
    assert not any(fleet.running(roots).values())
    assert all(f.read_text() == "not flyer's\n" for f in planted)
    assert old_log.read_text() == "before flyer\n"
    manifests = {p for p in files if p.endswith("/.flyer-manifest")}
    assert not [p for p in files - manifests if Path(p).exists()]  # every other file deploy created is gone
    assert len(manifests) == 3 and all(Path(m).exists() for m in manifests)  # listing what was kept
    kept = {
        a["what"].split(" kept ")[0]: a["what"]
        for a in msgspec.to_builtins(decoded("teardown", gone.stdout).actions)
        if " kept " in a["what"]
    }
    assert set(kept) == dirs, sorted(set(kept) ^ dirs)
    data = f"{roots['storage1']}/storage/data1/3fs"
    assert "holds data" in kept[data] and "did not create" in kept[f"{roots['meta']}/opt/3fs/etc"]

    # the manifest still lists what was kept: once the other program's files are gone, teardown finishes
    for f in planted:
        f.unlink()
    again = flyer(server, "fs3", "teardown", str(path), "--yes", "--purge-data")
    assert again.returncode == 0, again.stderr
    assert fleet.tree(roots) == before
