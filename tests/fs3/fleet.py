"""Many loopback "hosts" for the deploy tests and ``benchmarks/fs3_deploy.py``: one sshd, one loopback address
and one root directory per host (127.0.0.1 is the meta node, the others storage nodes with one disk each),
stand-in 3FS executables (standins.py), and faults injected on chosen hosts:

- ``kill``: the host's SSH session is killed (``kill -9`` of its sshd process) right after a command holding
  a pattern ran, before its exit status goes back (sshd.FAULTS);
- ``full``: the host's root is a tmpfs of a few pages, so writing files fails with ENOSPC (needs root, as
  the sshd does);
- ``exit``: the host's service stand-ins exit 1 at start (standins.SERVICE);
- ``slow``: every command on the host starts late (sshd.FAULTS; not a failure).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import sshd, standins
from .clusters import write_cluster


def addresses(n: int) -> tuple[str, ...]:
    """``n`` loopback addresses, 127.0.0.1 first."""
    return tuple(f"127.0.{i // 254}.{i % 254 + 1}" for i in range(n))


@dataclass
class Fleet:
    server: sshd.Server
    path: Path
    """The cluster description."""
    roots: dict[str, str]
    """Node name -> its root directory."""
    state: Path
    """The stand-ins' shared state (standins.make)."""
    faults: Path
    """sshd.FAULTS reads its faults here, one file per address."""
    address: dict[str, str]
    """Node name -> loopback address."""
    mounts: list[str] = field(default_factory=list)
    before: set[str] = field(default_factory=set)
    """What the roots held before deploy (set by the test)."""

    def flyer_args(self) -> list[str]:
        return ["--known-hosts", str(self.server.known_hosts), "--timeout", "20"]

    def kill_session(self, node: str, pattern: str) -> None:
        """The next command on ``node`` holding ``pattern`` runs, then its SSH session is killed."""
        (self.faults / self.address[node]).write_text(f"kill {pattern}\n")

    def slow_down(self, node: str, seconds: float) -> None:
        """Every command on ``node`` starts ``seconds`` late (a slow or distant host)."""
        (self.faults / self.address[node]).write_text(f"slow {seconds:g}\n")

    def fill_disk(self, node: str, size: str = "8k") -> None:
        """``node``'s root becomes a tmpfs of ``size``: the files step fails with ENOSPC."""
        root = self.roots[node]
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs", root], check=True)
        self.mounts.append(root)

    def grow_disk(self, node: str, size: str = "64m") -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", self.roots[node]], check=True)

    def fail_start(self, node: str, on: bool = True) -> None:
        """``node``'s service stand-ins exit 1 at start (while ``on``)."""
        flag = self.state / f"fail-start-{node}"
        flag.write_text("") if on else flag.unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Stop every stand-in service that registered, unmount the tmpfs roots."""
        for reg in (self.state / "nodes").glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(json.loads(reg.read_text())["pid"], 15)
        for root in self.mounts:
            subprocess.run(["umount", "-l", root], check=False)
        self.mounts.clear()


def serve(tmp: Path, hosts: int) -> sshd.Server:
    """One sshd for ``hosts`` loopback hosts, with the fault wrapper reading ``tmp/faults``."""
    return sshd.start(tmp / "sshd", addresses(hosts), faults=tmp / "faults")


def make(tmp: Path, server: sshd.Server, hosts: int) -> Fleet:
    """A cluster of ``hosts`` nodes on ``server`` (``serve``): meta (mgmtd, meta, monitor, fuse) and
    ``hosts - 1`` storage nodes, replication 3, pidfile services."""
    names = ["meta", *(f"storage{i}" for i in range(1, hosts))]
    roots = {n: str(tmp / "hosts" / n) for n in names}
    for n in names:
        Path(roots[n]).mkdir(parents=True)
    state = tmp / "state"
    standins.make(tmp / "bin", state)
    path = write_cluster(
        tmp,
        storage=hosts - 1,
        disks=1,
        roots=roots,
        ssh={"user": "root", "port": server.port, "key": str(server.key)},
        extra={"service_manager": "pidfile"},
    )
    doc = yaml.safe_load(path.read_text())
    address = dict(zip(names, addresses(hosts)))
    for n in doc["nodes"]:
        n["host"] = address[n["name"]]
    doc["storage"]["replication"] = 3
    doc["storage"]["min_targets_per_disk"] = 1
    doc["storage"]["stripe_size"] = 1  # a 4-host fleet has one chain
    doc["storage"]["aio_max_nr"] = 1  # no sysctl change on this shared machine
    doc["monitor"]["clickhouse"]["client"] = str(tmp / "bin" / "clickhouse-client")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    faults = Path(server.dir).parent / "faults"
    return Fleet(server, path, roots, state, faults, address)


def prepare_disks(f: Fleet) -> None:
    """Each storage node's disk directory (deploy never creates a mount point)."""
    for name, root in f.roots.items():
        if name != "meta":
            Path(root, "storage/data1").mkdir(parents=True, exist_ok=True)


def running(roots: dict[str, str]) -> dict[str, bool]:
    """node/service -> whether the process in its pid file (pidfile services) runs (Linux: /proc)."""
    out = {}
    for name, root in roots.items():
        for pid in Path(root, "opt/3fs/run").glob("*.pid"):
            try:
                status = Path(f"/proc/{int(pid.read_text())}/status").read_text()
                out[f"{name}/{pid.stem}"] = "\nState:\tZ" not in status  # a zombie has exited
            except (OSError, ValueError):
                out[f"{name}/{pid.stem}"] = False
    return out


def tree(roots: dict[str, str]) -> set[str]:
    """Every path under the hosts' roots."""
    return {str(p) for root in roots.values() for p in Path(root).rglob("*")}
