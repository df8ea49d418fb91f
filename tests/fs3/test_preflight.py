"""preflight --local on this machine, asserting what it really has; the judgements on made-up facts."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from fireflyer import host
from fireflyer.fs3 import facts
from fireflyer.fs3.checks import Want, judge
from tests.conftest import run_flyer


def test_local_facts_are_this_machine():
    f = facts.gather(args={"paths": ["/", "/no/such/path"], "disk_space": ["/"]})
    assert f["kernel"] == platform.release()
    assert f["cpu"]["cpus"] == os.cpu_count()
    assert abs(f["memory"]["MemTotal"] - host.memory_total()) < 64 * host.MiB
    assert {n["name"] for n in f["nics"]} == set(os.listdir("/sys/class/net"))
    assert len(f["rdma"]) == (
        len(list(Path("/sys/class/infiniband").glob("*/ports/*")))
        if Path("/sys/class/infiniband").is_dir()
        else 0
    )
    assert f["init"] == Path("/proc/1/comm").read_text().strip()
    assert f["aio_max_nr"] == int(Path("/proc/sys/fs/aio-max-nr").read_text())
    assert f["paths"] == {"/": True, "/no/such/path": False}
    assert f["fuse"]["dev_fuse"] == Path("/dev/fuse").exists()
    assert any(m["mountpoint"] == "/" for m in f["mounts"])


def test_preflight_local_cli():
    res = run_flyer("fs3", "preflight", "--local", "--disk", "/", "--json")
    data = json.loads(res.stdout)
    checks = {c["name"]: c for c in data["checks"]}
    assert res.returncode == (1 if data["counts"]["fail"] else 0)
    assert checks["kernel"]["detail"].startswith(platform.release())
    has_rdma = Path("/sys/class/infiniband").is_dir() and any(Path("/sys/class/infiniband").iterdir())
    assert checks["rdma"]["status"] == ("pass" if has_rdma else "fail") or has_rdma
    init = Path("/proc/1/comm").read_text().strip()
    assert checks["init"]["status"] == ("pass" if init == "systemd" else "fail")
    aio = int(Path("/proc/sys/fs/aio-max-nr").read_text())
    assert checks["aio-max-nr"]["status"] == ("pass" if aio >= 67108864 else "fail")
    assert "fs.aio-max-nr" in (checks["aio-max-nr"]["fix"] or "fs.aio-max-nr")
    root = next(m for m in facts.gather(["mounts"])["mounts"] if m["mountpoint"] == "/")
    assert checks["disk /"]["status"] == ("fail" if root["fstype"] != "xfs" else checks["disk /"]["status"])
    for c in data["checks"]:
        assert c["status"] in ("pass", "warn", "fail") and (c["status"] == "pass" or c["fix"])
    human = run_flyer("fs3", "preflight", "--local")
    assert "passed" in human.stdout and "failed" in human.stdout


def _facts(**over):
    f = {
        "kernel": "6.8.0",
        "os": "Ubuntu 22.04",
        "cpu": {"model": "x", "cpus": 64},
        "memory": {"MemTotal": 512 * host.GiB},
        "nics": [{"name": "ib0", "state": "up", "type": 32}, {"name": "eth0", "state": "up", "type": 1}],
        "rdma": [{"device": "mlx5_0", "port": 1, "state": "4: ACTIVE", "link_layer": "Ethernet"}],
        "block_devices": [{"name": "nvme1n1", "rotational": False, "bytes": 14 * 2**40}],
        "mounts": [
            {
                "device": "/dev/nvme1n1",
                "mountpoint": "/storage/data1",
                "fstype": "xfs",
                "options": ["rw", "noatime"],
            }
        ],
        "aio_max_nr": 67108864,
        "limits": {"nofile": 1024, "memlock_kib": 64},
        "init": "systemd",
        "fuse": {"dev_fuse": True, "version": "3.16.2"},
        "clock": {"synchronized": True, "source": "timedatectl"},
        "listening_ports": [9000],
        "disk_space": [{"mountpoint": "/storage/data1", "bytes": 100, "available": 50}],
        "paths": {"/storage/data1": True, "/storage/data2": False},
    }
    f.update(over)
    return f


def test_judgements():
    want = Want(
        "s1", ("storage", "mgmtd", "fuse"), ("/storage/data1", "/storage/data2"), (("mgmtd tcp", 9000),)
    )
    by = {c.name: c for c in judge(want, _facts())}
    assert by["rdma"].status == "pass" and by["nics"].status == "warn" and "ib0" in by["nics"].detail
    assert by["disk /storage/data1"].status == "pass" and by["disk /storage/data2"].status == "fail"
    assert by["port 9000"].status == "warn" and by["fuse"].status == "pass" and by["clock"].status == "pass"
    by = {
        c.name: c
        for c in judge(
            want,
            _facts(
                fuse={"dev_fuse": True, "version": "3.10.5"},
                aio_max_nr=65536,
                init="bash",
                clock={"synchronized": False, "source": "chronyc"},
            ),
        )
    }
    assert by["fuse"].status == "fail" and "3.16" in by["fuse"].fix
    assert by["aio-max-nr"].status == "fail" and "67108864" in by["aio-max-nr"].fix
    assert by["init"].status == "fail" and "pidfile" in by["init"].fix
    assert by["clock"].status == "fail"
    ext4 = [{"device": "/dev/nvme1n1", "mountpoint": "/storage/data1", "fstype": "ext4", "options": ["rw"]}]
    by = {c.name: c for c in judge(want, _facts(mounts=ext4))}
    assert by["disk /storage/data1"].status == "fail" and "mkfs.xfs" in by["disk /storage/data1"].fix
