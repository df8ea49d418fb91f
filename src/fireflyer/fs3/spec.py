"""The cluster description: one YAML file that `flyer fs3` plans, renders, checks and deploys from.

Schemas are msgspec structs, so every error names its field path (``nodes[2].roles[0]: ...``). Every value
that reaches a host (a shell command, a systemd unit, a config) is then checked against a full-string
pattern (``check``): ids and names, host names or addresses, normalised absolute paths. Paths on the
cluster's hosts are absolute; a node's ``root`` puts all of them under another directory (staging,
tests). Node ids follow the guide unless given: mgmtd 1, 2, ...; meta 100, 101, ...; storage 10001, ...
in the order the nodes are listed.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

from ..errors import InputError
from ..io import LIMITS, load_struct

Port = Annotated[int, Meta(ge=1, le=65535)]
PosInt = Annotated[int, Meta(gt=0)]
AbsPath = str
"""An absolute path on the cluster's hosts (checked by ``check``: see PATTERNS["path"])."""
Role = Literal["mgmtd", "meta", "storage", "fuse", "monitor", "fdb"]
ROLES = ("mgmtd", "meta", "storage", "fuse", "monitor", "fdb")
AIO_MAX_NR = 67108864
"""Default fs.aio-max-nr for storage nodes: what deploy sets and preflight checks for at least."""


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class _FrozenBase(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True, frozen=True):
    """_Base, frozen (a default value shared by every instance). NOTE: not a subclass of _Base: type checkers
    refuse a frozen record under a mutable one."""


class Ssh(_Base):
    """How flyer reaches a host: keys or the SSH agent, never passwords."""

    user: str | None = None
    """Login user (default: root)."""
    port: Port | None = None
    """SSH port (default: 22)."""
    key: str | None = None
    """Private key file on this machine (default: the SSH agent and ~/.ssh/id_*)."""


class Disk(_Base):
    """One SSD of a storage node: its mount point, and the block device formatted as XFS on it."""

    path: AbsPath
    """Mount point, e.g. /storage/data1 (targets live in its 3fs/ directory)."""
    device: str | None = None
    """Block device, e.g. /dev/nvme1n1 (checked by preflight; flyer never formats disks)."""


class ServicePorts(_FrozenBase, frozen=True):
    rdma: Port
    tcp: Port


class Ports(_FrozenBase, frozen=True):
    """Listening ports. Storage differs from mgmtd by default, so the two can share a host."""

    mgmtd: ServicePorts = ServicePorts(rdma=8000, tcp=9000)
    meta: ServicePorts = ServicePorts(rdma=8001, tcp=9001)
    storage: ServicePorts = ServicePorts(rdma=8002, tcp=9002)
    monitor: Port = 10000

    def of_roles(self, roles: Iterable[str]) -> list[tuple[str, str, int]]:
        """(what, field, port) of each port these roles listen on: rdma and tcp of mgmtd, meta and storage,
        and the monitor's, e.g. ``("meta tcp", "ports.meta.tcp", 9001)``."""
        out = []
        for role in ("mgmtd", "meta", "storage"):
            if role in roles:
                p = getattr(self, role)
                out += [
                    (f"{role} {kind}", f"ports.{role}.{kind}", getattr(p, kind)) for kind in ("rdma", "tcp")
                ]
        if "monitor" in roles:
            out.append(("monitor", "ports.monitor", self.monitor))
        return out


class Storage(_Base):
    """Chain layout and storage settings."""

    disks: list[Disk]
    """Disks of every storage node (a node may list its own)."""
    replication: Annotated[int, Meta(ge=2, le=10)] = 3
    min_targets_per_disk: Annotated[int, Meta(ge=1, le=99)] = 1
    targets_per_disk: Annotated[int, Meta(ge=1, le=99)] | None = None
    """Fixed targets per disk (default: the guide's rule from min_targets_per_disk)."""
    chunk_size: PosInt = 1048576
    stripe_size: PosInt = 16
    chain_table_id: PosInt = 1
    target_prefix: Annotated[int, Meta(ge=0, le=99)] = 1
    chain_prefix: Annotated[int, Meta(ge=0, le=42)] = 9
    aio_max_nr: PosInt = AIO_MAX_NR
    """fs.aio-max-nr the storage hosts need."""
    seed: Annotated[int, Meta(ge=0)] = 0
    """Seed of the placement search (same seed, same chains)."""

    def __post_init__(self) -> None:
        if not self.disks:
            raise ValueError("list at least one disk")


class ClickHouse(_Base):
    host: str
    port: Port = 9000
    user: str = "default"
    password_file: str | None = None
    """File on this machine holding the password (never in the YAML)."""
    db: str = "3fs"
    client: str = "clickhouse-client"
    """clickhouse-client on the monitor host (a name on its PATH, or a path)."""


class Monitor(_Base):
    clickhouse: ClickHouse
    create_tables: bool = True
    """Run the monitoring SQL with clickhouse-client on the monitor host during deploy."""


class FoundationDB(_Base):
    cluster_file: str
    """fdb.cluster on this machine; copied to every host."""


class Fuse(_Base):
    mountpoint: AbsPath = "/3fs/stage"


class Release(_Base):
    """Where the 3FS binaries come from: a directory on this machine holding them (build/bin)."""

    bin_dir: str


class Node(_Base):
    name: str
    host: str
    """Address flyer connects to over SSH."""
    roles: list[Role]
    address: str | None = None
    """Address of the node's RDMA NIC that services use (default: host)."""
    ssh: Ssh | None = None
    ib_devices: list[str] = []
    """RDMA devices the services may use (ib_devices.device_filter; empty: all)."""
    disks: list[Disk] | None = None
    """This node's disks, when they differ from storage.disks."""
    root: AbsPath = "/"
    """Directory every path on this host is put under (default /; tests and staging use another)."""
    mgmtd_id: PosInt | None = None
    meta_id: PosInt | None = None
    storage_id: PosInt | None = None

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError("give the node at least one role")
        if len(set(self.roles)) != len(self.roles):
            raise ValueError("a role is listed twice")


class Cluster(_Base, dict=True):
    cluster_id: str
    nodes: list[Node]
    foundationdb: FoundationDB
    release: Release
    storage: Storage
    monitor: Monitor | None = None
    fuse: Fuse = field(default_factory=Fuse)
    ports: Ports = field(default_factory=Ports)
    ssh: Ssh = field(default_factory=Ssh)
    service_manager: Literal["systemd", "pidfile"] = "systemd"
    """systemd (units in /usr/lib/systemd/system), or pidfile: flyer starts each service itself and keeps its
    pid under the 3FS directory (hosts without systemd, such as containers)."""
    install_dir: AbsPath = "/opt/3fs"
    log_dir: AbsPath = "/var/log/3fs"
    unit_dir: AbsPath = "/usr/lib/systemd/system"
    bench: dict[str, Any] | None = None
    """Thresholds for `flyer fs3 bench all` (validated by flyer fs3 bench, not here)."""

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("list at least one node")

    # ---- derived facts -------------------------------------------------------------------------------
    def with_role(self, role: str) -> list[Node]:
        return [n for n in self.nodes if role in n.roles]

    def node_ids(self) -> dict[tuple[str, str], int]:
        """(node name, role) -> 3FS node id, for mgmtd, meta and storage."""
        out: dict[tuple[str, str], int] = {}
        for role, attr, first in (
            ("mgmtd", "mgmtd_id", 1),
            ("meta", "meta_id", 100),
            ("storage", "storage_id", 10001),
        ):
            nxt = first
            for n in self.with_role(role):
                given = getattr(n, attr)
                out[(n.name, role)] = given if given is not None else nxt
                nxt = out[(n.name, role)] + 1
        return out

    def disks_of(self, node: Node) -> list[Disk]:
        return node.disks if node.disks is not None else self.storage.disks

    def address(self, node: Node) -> str:
        return node.address or node.host

    def mgmtd_addresses(self) -> list[str]:
        return [f"RDMA://{self.address(n)}:{self.ports.mgmtd.rdma}" for n in self.with_role("mgmtd")]

    def monitor_address(self) -> str | None:
        mons = self.with_role("monitor")
        return f"{self.address(mons[0])}:{self.ports.monitor}" if mons else None

    def ssh_for(self, node: Node) -> Ssh:
        own = node.ssh or Ssh()
        return Ssh(
            user=own.user or self.ssh.user or "root",
            port=own.port or self.ssh.port or 22,
            key=own.key or self.ssh.key,
        )


def remote(node: Node, path: str) -> str:
    """``path`` on ``node``, under its root."""
    return str(PurePosixPath(node.root) / path.lstrip("/"))


def load(path: str | os.PathLike) -> Cluster:
    """Read and check a cluster description (``check``); local files it names are resolved next to it."""
    c = load_struct(path, Cluster, what="cluster description", limit=LIMITS["cluster"])
    check(c, file=str(path))
    base = Path(path).resolve().parent
    resolve = lambda p: str((base / os.path.expanduser(p)).resolve()) if p else p  # noqa: E731
    c.foundationdb.cluster_file = resolve(c.foundationdb.cluster_file)
    c.release.bin_dir = resolve(c.release.bin_dir)
    for s in [c.ssh, *(n.ssh for n in c.nodes if n.ssh)]:
        if s.key:
            s.key = resolve(s.key)
    if c.monitor and c.monitor.clickhouse.password_file:
        c.monitor.clickhouse.password_file = resolve(c.monitor.clickhouse.password_file)
    c._source = str(path)  # type: ignore[attr-defined]
    return c


def source(c: Cluster) -> str | None:
    return getattr(c, "_source", None)


# ---- values that reach the hosts: full-string patterns -------------------------------------------------

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PATTERNS = {
    "id": (r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", "letters, digits, _ and -, starting with a letter or digit"),
    "name": (
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}",
        "letters, digits, ., _ and -, starting with a letter or digit",
    ),
    "host": (
        rf"{_LABEL}(?:\.{_LABEL})*|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*",
        "a DNS name or an IPv4 or IPv6 address",
    ),
    "path": (
        r"(?:/[A-Za-z0-9._+@%-]+)+|/",
        "a normalised absolute path of letters, digits and . _ - + @ % (no .., //, trailing / or spaces)",
    ),
    "user": (r"[A-Za-z_][A-Za-z0-9._-]{0,31}", "a user name: letters, digits, ., _ and -"),
    "db": (r"[A-Za-z0-9_]{1,63}", "letters, digits and _"),
    "device": (r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", "a device name such as mlx5_0"),
}
"""kind -> (pattern, what it accepts). Each is matched against the whole value (``re.fullmatch``), so no
value holds a newline, a quote, a space or a shell or systemd special character other than ``%``."""


def valid(kind: str, value: str) -> bool:
    """Whether ``value`` is a whole ``kind`` of PATTERNS (hosts and paths with their extra rules)."""
    if not isinstance(value, str) or re.fullmatch(PATTERNS[kind][0], value) is None:
        return False
    if kind == "host":
        if re.fullmatch(r"[0-9.]+", value) or ":" in value:  # looks like an address: must be one
            try:
                ipaddress.ip_address(value)
            except ValueError:
                return False
        return len(value) <= 253
    if kind == "path":
        return posixpath.normpath(value) == value and len(value) <= 4095
    return True


def require(kind: str, value: str, *, file: str | None = None, field: str | None = None) -> str:
    """``value`` when ``valid``; InputError naming the file, the field and what is expected otherwise."""
    if not valid(kind, value):
        hint = None
        if kind == "path" and isinstance(value, str):
            norm = posixpath.normpath(value)
            hint = f"write {norm}" if norm != value and valid("path", norm) else None
        raise InputError(f"expected {PATTERNS[kind][1]}, got {value!r}", file=file, field=field, hint=hint)
    return value


def host_key(host: str) -> str:
    """One spelling per host, for duplicate checks: addresses compressed, names in lower case."""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host.lower().rstrip(".")


def _values(c: Cluster) -> Iterator[tuple[str, str, str]]:
    """(kind, field path, value) of every value that reaches a host."""
    yield "id", "cluster_id", c.cluster_id
    for f in ("install_dir", "log_dir", "unit_dir"):
        yield "path", f, getattr(c, f)
    yield "path", "fuse.mountpoint", c.fuse.mountpoint
    for i, d in enumerate(c.storage.disks):
        yield "path", f"storage.disks[{i}].path", d.path
        if d.device is not None:
            yield "path", f"storage.disks[{i}].device", d.device
    if c.ssh.user is not None:
        yield "user", "ssh.user", c.ssh.user
    if c.monitor:
        ch = c.monitor.clickhouse
        yield "host", "monitor.clickhouse.host", ch.host
        yield "user", "monitor.clickhouse.user", ch.user
        yield "db", "monitor.clickhouse.db", ch.db
        yield ("path" if ch.client.startswith("/") else "name"), "monitor.clickhouse.client", ch.client
    for i, n in enumerate(c.nodes):
        at = f"nodes[{i}]"
        yield "name", f"{at}.name", n.name
        yield "host", f"{at}.host", n.host
        if n.address is not None:
            yield "host", f"{at}.address", n.address
        if n.ssh and n.ssh.user is not None:
            yield "user", f"{at}.ssh.user", n.ssh.user
        for j, dev in enumerate(n.ib_devices):
            yield "device", f"{at}.ib_devices[{j}]", dev
        for j, d in enumerate(n.disks or ()):
            yield "path", f"{at}.disks[{j}].path", d.path
            if d.device is not None:
                yield "path", f"{at}.disks[{j}].device", d.device
        yield "path", f"{at}.root", n.root


def check(c: Cluster, *, file: str | None = None) -> None:
    """Refuse a value that would reach a host (a shell command, a unit, a config) and is not a whole match
    of its PATTERNS kind; the error names the file and the field."""
    for kind, where, value in _values(c):
        require(kind, value, file=file or source(c), field=where)
