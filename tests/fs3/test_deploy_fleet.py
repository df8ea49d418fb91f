"""deploy to 20 loopback hosts (one sshd, a root directory per host, stand-in executables; fleet.py) through
three faults, each on its own host: an SSH session killed mid-step, a full disk (a real tmpfs of 8 KiB), a
service executable that exits 1. The others finish; the failed ones are named with their step and error;
the run after the faults are fixed finishes only what was left. status over those hosts, and over 100
hosts' saved listings, fits 80 columns. (The 100-host figures: benchmarks/fs3_deploy.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fireflyer.cluster import free_port
from fireflyer.commands.views.fs3 import name_ranges
from fireflyer.errors import InputError
from fireflyer.fs3 import SshSettings
from tests.conftest import run_flyer

from . import fleet, sshd
from .results import decoded
from .standins import admin_table

needs_sshd = pytest.mark.skipif(sshd.skip_reason() is not None, reason=sshd.skip_reason() or "")

HOSTS = 20
KILLED, FULL, EXITS = "storage3", "storage5", "storage7"


@pytest.fixture
def hosts(tmp_path):
    server = fleet.serve(tmp_path, HOSTS)
    f = fleet.make(tmp_path, server, HOSTS)
    try:
        f.fill_disk(FULL)  # before the disk directory is made, so that directory is on the tmpfs
        fleet.prepare_disks(f)
        f.before = fleet.tree(f.roots)
        yield f
    finally:
        f.cleanup()
        sshd.stop(server)


def deploy(f: fleet.Fleet, *args: str, path: Path | None = None):
    return run_flyer(
        "fs3", "deploy", str(path or f.path), *f.flyer_args(), "--parallel", "8", *args, timeout=300
    )


@needs_sshd
def test_dry_run_lists_unreachable_hosts_up_front(hosts):
    f = hosts
    doc = yaml.safe_load(f.path.read_text())
    closed = free_port()  # nothing listens there
    doc["nodes"][9]["ssh"] = {"port": closed}
    with open(f.server.known_hosts, "a") as kh:  # its key is known: it is unreachable, not unknown
        kh.write(f"[{f.address['storage9']}]:{closed} {f.server.host_pub}\n")
    path = f.path.with_name("one-down.yaml")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    res = deploy(f, "--dry-run", path=path)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0].startswith("unreachable: storage9: unreachable: ")
    assert "storage9 at connect: unreachable" in res.stderr
    plan = decoded("deploy", deploy(f, "--dry-run", "--json", path=path).stdout)
    assert plan.unreachable and plan.unreachable[0].startswith("storage9: ")
    states = {h.host: h.state for h in plan.hosts}
    assert states.pop("storage9") == "failed" and states.pop("meta") == "waiting"  # the targets need it
    assert set(states.values()) == {"changed"}  # every other host compared (a dry run changes nothing)


@needs_sshd
def test_three_faults_then_a_rerun_finishes_what_is_left(hosts):
    f = hosts
    f.kill_session(KILLED, "setsid nohup")  # the storage service starts, the reply never comes back
    f.fail_start(EXITS)

    first = deploy(f, "--json")
    assert first.returncode == 1, first.stderr
    r = decoded("deploy", first.stdout)
    by = {h.host: h for h in r.hosts}
    assert (by[KILLED].step, by[FULL].step, by[EXITS].step) == ("storage", "files", "storage")
    assert "connection lost" in by[KILLED].error
    assert "No space left on device" in by[FULL].error
    assert not [p for p in fleet.tree({FULL: f.roots[FULL]}) if p.endswith(".flyer-tmp")]  # none left
    assert "storage_main exited within 1 s of its start" in by[EXITS].error
    assert "cannot start (injected by the test)" in by[EXITS].error
    # the admin host did everything up to the targets, which need every storage host
    assert by["meta"].state == "waiting" and by["meta"].step == "create-targets"
    assert all(by[h].error and h in by["meta"].error for h in (KILLED, FULL, EXITS))
    others = [h for h in by.values() if h.host not in (KILLED, FULL, EXITS, "meta")]
    assert len(others) == HOSTS - 4 and {h.state for h in others} == {"changed"}
    up = fleet.running(f.roots)
    assert all(up[f"{h.host}/storage_main"] for h in others)
    errors = [ln for ln in first.stderr.splitlines() if ln.startswith("flyer: error:")]
    assert len(errors) == 1
    for host, step in ((KILLED, "storage"), (FULL, "files"), (EXITS, "storage")):
        assert f"{host} at {step}: " in errors[0]
    assert "failed on 3 of 20 hosts" in errors[0] and "finishes only what is left" in errors[0]

    # the faults fixed: the next run does only what was left
    f.grow_disk(FULL)
    f.fail_start(EXITS, on=False)
    second = deploy(f, "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    changed = {a["host"] for a in again["actions"] if a["changed"]}
    assert changed == {FULL, EXITS, "meta"}, changed  # the killed host's service was started: it runs
    meta = [a["step"] for a in again["actions"] if a["changed"] and a["host"] == "meta"]
    assert meta == ["create-targets", "upload-chains", "upload-chain-table", "set-config-fuse", "fuse"]
    assert all(h["state"] in ("changed", "unchanged") for h in again["hosts"])
    up = fleet.running(f.roots)
    assert len(up) == (HOSTS - 1) + 4 and all(up.values())  # storage_main on each, 4 services on meta
    admin = json.loads((f.state / "admin.json").read_text())
    assert len({t["node"] for t in admin["targets"]}) == HOSTS - 1

    third = deploy(f)
    assert third.returncode == 0 and "deploy: nothing to change" in third.stdout

    # status over the 20 hosts: one row each, 80 columns
    res = run_flyer("fs3", "status", str(f.path), *f.flyer_args(), env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr + res.stdout
    lines = res.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert sum(ln.lstrip().startswith("storage") for ln in lines) == HOSTS - 1

    # what deploy recorded creating, through the faults (the full disk's manifest included), is all it made
    gone = run_flyer("fs3", "teardown", str(f.path), *f.flyer_args(), "--yes", "--purge-data")
    assert gone.returncode == 0, gone.stderr
    assert not any(fleet.running(f.roots).values())
    left = fleet.tree(f.roots) - f.before
    assert left == set(), sorted(left)


def _listings(tmp: Path, storage: int, down: set[int]) -> Path:
    """admin_cli's three listings for a meta host and ``storage`` storage hosts, those in ``down`` OFFLINE."""
    nodes = [["Id", "Type", "Status", "Hostname", "Pid", "Tags", "LastHeartbeatTime", "ConfigVersion"]]
    nodes.append(["1", "MGMTD", "PRIMARY_MGMTD", "meta", "10", "[]", "N/A", "1(UPTODATE)"])
    nodes.append(["100", "META", "HEARTBEAT_CONNECTED", "meta", "11", "[]", "N/A", "1(UPTODATE)"])
    targets = [
        ["TargetId", "ChainId", "Role", "PublicState", "LocalState", "NodeId", "DiskIndex", "UsedSize"]
    ]
    chains = [["ChainId", "ReferencedBy", "ChainVersion", "Status", "PreferredOrder", "Target"]]
    for i in range(1, storage + 1):
        nid = 10000 + i
        status = "HEARTBEAT_FAILED" if i in down else "HEARTBEAT_CONNECTED"
        nodes.append([str(nid), "STORAGE", status, f"storage{i}", str(100 + i), "[]", "N/A", "1(UPTODATE)"])
        state = ("OFFLINE", "OFFLINE") if i in down else ("SERVING", "UPTODATE")
        tid = str(nid * 100 + 1)
        targets.append([tid, str(900000 + i), "HEAD", *state, str(nid), "0", "0"])
        chains.append([str(900000 + i), "1", "1", "SERVING" if i not in down else "UNAVAILABLE", "[]", tid])
    d = tmp / "listings"
    d.mkdir()
    for name, rows in (("list-nodes", nodes), ("list-targets", targets), ("list-chains", chains)):
        (d / f"{name}.txt").write_text(admin_table(rows))
    return d


def test_status_of_100_hosts_fits_80_columns(tmp_path):
    d = _listings(tmp_path, 99, down={7, 8, 9, 42})
    res = run_flyer("fs3", "status", "--from", str(d), env={"COLUMNS": "80"})
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert max(map(len, lines)) <= 80, [ln for ln in lines if len(ln) > 80]
    assert "Hosts (100)" in lines[0]
    rows = [ln.split() for ln in lines if ln.lstrip().startswith(("OK", "HEARTBEAT"))]
    assert rows[0] == ["OK", "1", "MGMTD", "META", "-", "meta"]
    assert rows[1][:5] == ["OK", "95", "STORAGE", "95/95", "storage1-6,"]  # the names wrap in 80 columns
    assert "storage43-99" in res.stdout
    assert rows[2] == ["HEARTBEAT_FAILED", "4", "STORAGE", "0/4", "storage7-9,", "storage42"]
    res = run_flyer("fs3", "status", "--from", str(d), "--json")
    assert decoded("status", res.stdout).hosts[8].host == "storage8"


def test_name_ranges():
    names = ["meta", "n01", "n02", "n03", "n10", "storage9", "storage10", "storage11", "storage13", "x"]
    assert name_ranges(names) == "meta, n01-03, n10, storage9-11, storage13, x"
    assert name_ranges([]) == "" and name_ranges(["a1"]) == "a1"


@pytest.mark.parametrize("bad", ["0", "1025", "-3", "many"])
def test_parallel_is_checked_while_parsing(bad, tmp_path):
    res = run_flyer("fs3", "deploy", str(tmp_path / "none.yaml"), "--parallel", bad)
    assert res.returncode == 2 and "--parallel" in res.stderr
    with pytest.raises(InputError, match="parallel"):
        SshSettings(parallel=int(bad) if bad.lstrip("-").isdigit() else 0)
