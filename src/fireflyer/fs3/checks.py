"""fs3 preflight: host facts (``fs3.facts``, here or over SSH) -> pass, warn or fail, each with a one-line
fix."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..host import GiB
from . import facts
from .reports import Check, Counts, PreflightReport
from .spec import AIO_MAX_NR, ROLES, Cluster, Node, Ports, remote
from .ssh import SshSettings

FUSE_MIN = (3, 16)
NOFILE = 1_000_000
NIC_PATTERNS = ("en*", "eth*", "bond*", "xgbe*")
SERVICE_ROLES = {"mgmtd", "meta", "storage", "fuse", "monitor"}


@dataclass(frozen=True)
class Want:
    """What one host should have: its roles, disk mount points, listening ports, init system."""

    host: str
    roles: tuple[str, ...]
    disks: tuple[str, ...] = ()
    ports: tuple[tuple[str, int], ...] = ()
    systemd: bool = True
    aio_max_nr: int = AIO_MAX_NR


def want_of(c: Cluster, n: Node) -> Want:
    """What node ``n`` of cluster ``c`` should have."""
    disks = tuple(remote(n, d.path) for d in c.disks_of(n)) if "storage" in n.roles else ()
    ports = tuple((what, port) for what, _, port in c.ports.of_roles(n.roles))
    return Want(n.name, tuple(n.roles), disks, ports, c.service_manager == "systemd", c.storage.aio_max_nr)


def want_here(roles: str, disks: Sequence[str] = ()) -> Want:
    """What this host should have for the comma-separated ``roles`` (default ports, systemd)."""
    rs = tuple(r.strip() for r in roles.split(",") if r.strip())
    bad = [r for r in rs if r not in ROLES]
    if bad:
        raise InputError(f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}", field="--roles")
    ports = tuple((what, port) for what, _, port in Ports().of_roles(rs))
    return Want("localhost", rs, tuple(disks), ports, systemd=True)


def _mount_of(path: str, mounts: list[dict]) -> dict | None:
    best = None
    for m in mounts:
        mp = m["mountpoint"].rstrip("/") or "/"
        if path == mp or path.startswith(mp.rstrip("/") + "/") or mp == "/":
            if best is None or len(mp) >= len(best["mountpoint"]):
                best = m
    return best


def _version(text: str | None) -> tuple[int, ...] | None:
    return tuple(int(x) for x in text.split(".")) if text else None


def judge(want: Want, f: dict) -> list[Check]:
    """Every check for one host from its facts."""
    out: list[Check] = []
    h = want.host
    roles = set(want.roles)

    def add(name, status, detail, fix=None):
        out.append(Check(h, name, status, detail, fix))

    add("kernel", "pass", f"{f.get('kernel') or '?'} ({f.get('os') or 'unknown OS'})")
    cpu = f.get("cpu") or {}
    add("cpu", "pass", f"{cpu.get('model') or '?'}, {cpu.get('cpus') or '?'} CPUs")
    mem = (f.get("memory") or {}).get("MemTotal", 0)
    if "storage" in roles and mem < 32 * GiB:
        add(
            "memory",
            "warn",
            f"{mem / GiB:.1f} GiB; storage caches need tens of GiB",
            "use a host with >= 64 GiB",
        )
    else:
        add("memory", "pass", f"{mem / GiB:.1f} GiB")

    nics = [n for n in f.get("nics") or [] if n["type"] != 772 and n["name"] != "lo"]
    usable = [n["name"] for n in nics if any(fnmatch.fnmatch(n["name"], p) for p in NIC_PATTERNS)]
    others = [n["name"] for n in nics if n["name"] not in usable and n["state"] == "up"]
    if roles & SERVICE_ROLES:
        if not usable:
            add(
                "nics",
                "fail",
                "no NIC named en*, eth*, bond* or xgbe* "
                f"(have: {', '.join(n['name'] for n in nics) or 'none'})",
                "rename the RDMA NIC (udev rule) to en*/eth*/bond*/xgbe*; 3FS takes ib* as IPoIB",
            )
        elif others:
            add(
                "nics",
                "warn",
                f"usable: {', '.join(usable)}; 3FS ignores {', '.join(others)}",
                "name NICs en*, eth*, bond* or xgbe* (ib* is taken as IPoIB)",
            )
        else:
            add("nics", "pass", ", ".join(usable))

        rdma = f.get("rdma") or []
        active = [f"{p['device']}/{p['port']} ({p['link_layer']})" for p in rdma if "ACTIVE" in p["state"]]
        if not rdma:
            add(
                "rdma",
                "fail",
                "no RDMA device (/sys/class/infiniband is empty)",
                "install the NIC's RDMA driver (e.g. mlx5_ib) and rdma-core; check with ibv_devinfo",
            )
        elif not active:
            add(
                "rdma",
                "fail",
                f"no ACTIVE RDMA port ({', '.join(p['device'] for p in rdma)})",
                "bring the port up and check its link (ibstat)",
            )
        else:
            add("rdma", "pass", ", ".join(active))

    if "storage" in roles:
        aio = f.get("aio_max_nr")
        if aio is None or aio < want.aio_max_nr:
            add(
                "aio-max-nr",
                "fail",
                f"fs.aio-max-nr is {aio}, storage needs {want.aio_max_nr}",
                f"sysctl -w fs.aio-max-nr={want.aio_max_nr} (and persist it in /etc/sysctl.d)",
            )
        else:
            add("aio-max-nr", "pass", f"{aio}")
        out.extend(_disks(want, f))

    if "fuse" in roles:
        fu = f.get("fuse") or {}
        v = _version(fu.get("version"))
        if not fu.get("dev_fuse"):
            add(
                "fuse",
                "fail",
                "/dev/fuse is missing",
                "modprobe fuse (in a container: pass --device /dev/fuse)",
            )
        elif v is None:
            add(
                "fuse", "warn", "libfuse3 not found", "install libfuse3 3.16 or newer (3FS's client needs it)"
            )
        elif v[:2] < FUSE_MIN:
            add(
                "fuse",
                "fail",
                f"libfuse {fu['version']} is older than 3.16",
                "build and install libfuse 3.16 or newer",
            )
        else:
            add("fuse", "pass", f"/dev/fuse, libfuse {fu['version']}")

    init = f.get("init")
    if roles & SERVICE_ROLES:
        if want.systemd and init != "systemd":
            add(
                "init",
                "fail",
                f"PID 1 is {init or 'unknown'}, not systemd",
                "set service_manager: pidfile in the cluster description, or run systemd",
            )
        else:
            add(
                "init",
                "pass",
                f"PID 1 is {init}" + ("" if want.systemd else " (services started with pid files)"),
            )
        lim = f.get("limits") or {}
        nofile = lim.get("nofile")
        if want.systemd:
            add("limits", "pass", "the units set LimitNOFILE=1000000 (storage: LimitMEMLOCK=infinity)")
        elif nofile is not None and nofile != -1 and nofile < NOFILE:
            add(
                "limits",
                "warn",
                f"open files limit {nofile} < {NOFILE}",
                "raise nofile in /etc/security/limits.conf (services started here inherit it)",
            )
        elif "storage" in roles and lim.get("memlock_kib") not in (-1, None):
            add(
                "limits",
                "warn",
                f"locked memory limit {lim['memlock_kib']} KiB; RDMA wants unlimited",
                "set memlock unlimited in /etc/security/limits.conf",
            )
        else:
            add("limits", "pass", f"open files {nofile}, locked memory {lim.get('memlock_kib')} KiB")

    listening = set(f.get("listening_ports") or [])
    for what, port in want.ports:
        if port in listening:
            add(
                f"port {port}",
                "warn",
                f"{what} port {port} is already listening (a running 3FS, or another service)",
                f"stop what holds it (ss -ltnp 'sport = :{port}') or pick another port",
            )
        else:
            add(f"port {port}", "pass", f"{what} port {port} is free")

    clock = f.get("clock") or {}
    if clock.get("synchronized") is True:
        add("clock", "pass", f"synchronized ({clock['source']})")
    elif clock.get("synchronized") is False:
        add(
            "clock",
            "fail",
            f"not synchronized ({clock['source']})",
            "enable NTP: systemctl enable --now chrony (or systemd-timesyncd)",
        )
    else:
        add("clock", "warn", "no timedatectl, chronyc or ntpstat to ask", "install chrony and enable it")
    return out


def _disks(want: Want, f: dict) -> list[Check]:
    out = []
    mounts = f.get("mounts") or []
    exists = f.get("paths") or {}
    space = {d["mountpoint"]: d for d in f.get("disk_space") or []}
    blocks = {b["name"]: b for b in f.get("block_devices") or []}
    for path in want.disks:
        name = f"disk {path}"
        if not exists.get(path, False):
            out.append(
                Check(
                    want.host, name, "fail", "missing", f"mkfs.xfs the SSD and mount it at {path} (noatime)"
                )
            )
            continue
        m = _mount_of(path, mounts)
        if m is None or m["mountpoint"] != path:
            out.append(
                Check(
                    want.host,
                    name,
                    "fail",
                    f"not a mount point (on {m['mountpoint'] if m else '?'})",
                    f"mount the SSD's XFS file system at {path} with noatime",
                )
            )
            continue
        problems, fixes = [], []
        if m["fstype"] != "xfs":
            problems.append(f"{m['fstype']}, not xfs")
            fixes.append(f"mkfs.xfs -s size=4096 {m['device']}")
        if "noatime" not in m["options"]:
            problems.append("mounted without noatime")
            fixes.append(f"mount -o remount,noatime {path}")
        dev = m["device"].rsplit("/", 1)[-1]
        base = next((b for b in blocks if dev.startswith(b)), None)
        if base and blocks[base]["rotational"]:
            problems.append(f"{base} is rotational")
            fixes.append("use SSDs for 3FS targets")
        sp = space.get(path)
        free = (
            f"{sp['available'] / GiB:.0f} GiB free of {sp['bytes'] / GiB:.0f} GiB"
            if sp
            else "free space unknown"
        )
        if sp and sp["available"] < 0.1 * sp["bytes"]:
            problems.append("less than 10% free")
        if problems:
            out.append(
                Check(
                    want.host,
                    name,
                    "fail" if m["fstype"] != "xfs" else "warn",
                    f"{'; '.join(problems)} ({free})",
                    "; ".join(fixes) or "free some space",
                )
            )
        else:
            out.append(Check(want.host, name, "pass", f"xfs, noatime, {free}"))
    return out


def fact_args(want: Want) -> dict[str, list[str]]:
    """The arguments of the facts that take any, for ``want`` (its disk paths)."""
    return {"disk_space": list(want.disks), "paths": list(want.disks)}


def local_checks(want: Want) -> list[Check]:
    """Preflight of this machine."""
    return judge(want, facts.gather(args=fact_args(want)))


def remote_checks(c: Cluster, ssh: SshSettings = SshSettings()) -> list[Check]:
    """Preflight of every node of ``c``, its facts gathered concurrently over SSH.

    Example: ``summarize(remote_checks(load("cluster.yaml")))``
    """
    wants = {n.name: want_of(c, n) for n in c.nodes}
    got = facts.gather_remote(c, {name: fact_args(w) for name, w in wants.items()}, ssh)
    return [chk for n in c.nodes for chk in judge(wants[n.name], got[n.name])]


def summarize(checks: list[Check]) -> PreflightReport:
    counts = Counts(*(sum(c.status == s for c in checks) for s in ("pass", "warn", "fail")))
    return PreflightReport(ok=counts.fail == 0, counts=counts, checks=checks)
