"""Facts about this machine, gathered in one place: CPU, cores, caches, memory, GPUs, OS; and the facts a
deployment checks on any host (NICs, RDMA devices, disks, mounts, limits, init system, clock sync).

Cheap facts come from /proc, /sys and psutil; GPUs come from torch, imported only when an NVIDIA driver
is present. ``check_fits`` refuses, before allocating, work this machine cannot hold.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import shlex
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .errors import InputError
from .units import GiB, KiB, MiB, parse_sysfs_size

MAX_L3_PER_CORE = 16 * MiB
"""The most last-level cache one core of any current CPU owns (AMD's 3D V-Cache parts: 12 MiB). A larger
per-core share reported by a virtual machine is the host's whole cache, which the guest cannot count on."""


@dataclass(frozen=True)
class Cache:
    level: int
    kind: str  # Data, Instruction or Unified
    size_bytes: int
    shared_cpus: int
    """Logical CPUs sharing one instance of this cache."""


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_gib: float
    sm_count: int


@functools.cache
def cpu_model() -> tuple[str, str]:
    """(model name, vendor: intel, amd, arm or what the CPU says) of this machine's CPU."""
    model, vendor = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model") and not model:
                model = value.strip()
            elif key in ("vendor_id", "CPU implementer") and not vendor:
                vendor = value.strip()
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    vendor = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "0x41": "arm"}.get(
        vendor, vendor.lower() or "unknown"
    )
    return model, vendor


def threads_available() -> int:
    """Logical CPUs this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return psutil.cpu_count(logical=True) or 1


def physical_cores() -> int:
    return psutil.cpu_count(logical=False) or threads_available()


def logical_cores() -> int:
    return psutil.cpu_count(logical=True) or threads_available()


def _cpu_count(cpulist: str) -> int:
    n = 0
    for part in cpulist.strip().split(","):
        if "-" in part:
            a, b = part.split("-")
            n += int(b) - int(a) + 1
        elif part:
            n += 1
    return n


@functools.cache
def caches() -> tuple[Cache, ...]:
    """CPU 0's caches from sysfs (empty where sysfs has none)."""
    out = []
    for idx in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = int((idx / "level").read_text())
            kind = (idx / "type").read_text().strip()
            size = parse_sysfs_size((idx / "size").read_text())
            shared = _cpu_count((idx / "shared_cpu_list").read_text())
        except (OSError, ValueError):
            continue
        out.append(Cache(level, kind, size, max(shared, 1)))
    return tuple(out)


def usable_cache_bytes(threads: int) -> tuple[int, str]:
    """Cache that ``threads`` threads can hold data in (private caches plus their share of the last level),
    and how it was worked out. A per-core last-level share above MAX_L3_PER_CORE is capped (see there)."""
    data = [c for c in caches() if c.kind != "Instruction"]
    if not data:
        return 32 * MiB * threads, "no cache facts in sysfs; assumed 32 MiB per thread"
    last = max(c.level for c in data)
    private = sum(c.size_bytes for c in data if c.level < last)
    llc = max((c for c in data if c.level == last), key=lambda c: c.size_bytes)
    share = llc.size_bytes // llc.shared_cpus
    why = f"L{last} {llc.size_bytes // MiB} MiB shared by {llc.shared_cpus} CPUs ({share / MiB:.1f} MiB each)"
    if share > MAX_L3_PER_CORE:
        why += f", counted as {MAX_L3_PER_CORE // MiB} MiB each (more than any real core owns: a VM's view)"
        share = MAX_L3_PER_CORE
    usable = threads * (private + share)
    return usable, f"{why}, plus {private // KiB} KiB private per thread"


def memory_total() -> int:
    return psutil.virtual_memory().total


def memory_available() -> int:
    return psutil.virtual_memory().available


def check_fits(
    nbytes: float,
    what: str,
    *,
    field: str | None = None,
    fraction: float = 0.8,
    free: tuple[str, int] | None = None,
) -> None:
    """Refuse, before allocating, ``what`` needing more than ``fraction`` of the memory available now: this
    machine's, or another memory's ``free = (name, free bytes)`` (a GPU's, from ``device.check_fits``)."""
    if free is None:
        avail = memory_available()
        have = f" of memory; this machine has {avail / GiB:.3g} GiB available"
    else:
        name, avail = free
        have = f"; {name} has {avail / GiB:.3g} GiB free"
    if nbytes > fraction * avail:
        raise InputError(f"{what} needs about {nbytes / GiB:.3g} GiB{have}", field=field)


@dataclass(frozen=True)
class DiskSpace:
    """Room on the file system holding a path, as an unprivileged user may use it (statvfs)."""

    free_bytes: int
    total_bytes: int
    free_inodes: int | None
    """None where the file system does not count inodes (it reports none at all)."""


def disk_space(path: str | os.PathLike) -> DiskSpace:
    """Free and total bytes, and free inodes, of the file system holding ``path`` (which must exist)."""
    st = os.statvfs(path)
    return DiskSpace(
        free_bytes=st.f_bavail * st.f_frsize,
        total_bytes=st.f_blocks * st.f_frsize,
        free_inodes=st.f_favail if st.f_files > 0 else None,
    )


def check_disk(
    path: str | os.PathLike,
    nbytes: int,
    what: str,
    *,
    inodes: int = 0,
    field: str | None = None,
    hint: str | None = None,
) -> DiskSpace:
    """Refuse, before writing, ``what`` needing more bytes (or inodes) than the file system holding ``path``
    has free; the error names the path."""
    space = disk_space(path)
    if nbytes > space.free_bytes:
        raise InputError(
            f"{what} needs {nbytes / GiB:.3g} GiB; the file system has {space.free_bytes / GiB:.3g} GiB free",
            file=os.fspath(path),
            field=field,
            hint=hint,
        )
    if space.free_inodes is not None and inodes > space.free_inodes:
        raise InputError(
            f"{what} needs {inodes} inodes; the file system has {space.free_inodes} free",
            file=os.fspath(path),
            field=field,
        )
    return space


def hostname() -> str:
    """This machine's short host name, lower case, safe in file and profile names."""
    host = socket.gethostname().split(".")[0].lower()
    return re.sub(r"[^a-z0-9._-]+", "-", host).strip("-") or "host"


def kernel() -> str:
    return platform.release()


def nvidia_driver_present() -> bool:
    return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia").exists()


def nvidia_driver_version() -> str | None:
    """The NVIDIA kernel driver's version (e.g. ``570.124.06``), from /proc; None without a driver."""
    try:
        text = Path("/proc/driver/nvidia/version").read_text()
    except OSError:
        return None
    m = re.search(r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)", text)
    return m.group(1) if m else None


@functools.cache
def gpus() -> tuple[Gpu, ...]:
    """CUDA GPUs, through torch. Empty without an NVIDIA driver (torch is then not imported: seconds
    saved)."""
    if not nvidia_driver_present():
        return ()
    try:
        import torch  # NOTE: only here, and only with a driver: GPU facts need the CUDA runtime
    except ImportError:
        return ()
    if not torch.cuda.is_available():
        return ()
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        out.append(
            Gpu(
                index=i,
                name=p.name,
                memory_gib=round(p.total_memory / GiB, 2),
                sm_count=p.multi_processor_count,
            )
        )
    return tuple(out)


# ---- Facts a deployment checks ---------------------------------------------------------------------------
# pyinfra-like: each fact is one POSIX shell command and one parser of what it prints, so the same fact is
# read here (``facts()``) or on a remote host (``facts(run=...)`` with an SSH runner), cheaply, in one round.


@dataclass(frozen=True)
class Fact:
    name: str
    command: str
    """POSIX shell; ``{arg}`` is replaced by the quoted arguments, where the fact takes any."""
    parse: Callable[[str], Any]


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def _kv_ints(text: str) -> dict[str, int]:
    out = {}
    for ln in _lines(text):
        key, _, rest = ln.partition(":")
        num = rest.split()[:1]
        if num and num[0].isdigit():
            out[key.strip()] = int(num[0]) * (1024 if rest.strip().endswith("kB") else 1)
    return out


def _os_release(text: str) -> str:
    for ln in _lines(text):
        if ln.startswith("PRETTY_NAME="):
            return ln.split("=", 1)[1].strip().strip('"')
    return ""


def _cpu(text: str) -> dict:
    lines = _lines(text)
    model = lines[0].split(":", 1)[1].strip() if lines and ":" in lines[0] else ""
    cpus = int(lines[-1]) if lines and lines[-1].strip().isdigit() else 0
    return {"model": model, "cpus": cpus}


def _nics(text: str) -> list[dict]:
    out = []
    for ln in _lines(text):
        bits = ln.split()
        if len(bits) >= 3:
            # /sys/class/net/X/type: 1 Ethernet, 32 InfiniBand (IPoIB), 772 loopback
            out.append({"name": bits[0], "state": bits[1], "type": int(bits[2]) if bits[2].isdigit() else -1})
    return out


def _rdma(text: str) -> list[dict]:
    out = []
    for ln in _lines(text):
        bits = ln.split()
        if len(bits) >= 4:
            parts = bits[0].rstrip("/").split("/")
            out.append(
                {
                    "device": parts[-3],
                    "port": int(parts[-1]),
                    "state": " ".join(bits[1:-1]),
                    "link_layer": bits[-1],
                }
            )
    return out


def _block(text: str) -> list[dict]:
    out = []
    for ln in _lines(text):
        bits = ln.split()
        if len(bits) == 3 and bits[1].isdigit() and bits[2].isdigit():
            out.append({"name": bits[0], "rotational": bits[1] == "1", "bytes": int(bits[2]) * 512})
    return out


def _mounts(text: str) -> list[dict]:
    out = []
    for ln in _lines(text):
        bits = ln.split()
        if len(bits) >= 4:
            unescape = lambda s: s.replace("\\040", " ").replace("\\011", "\t")  # noqa: E731
            out.append(
                {
                    "device": unescape(bits[0]),
                    "mountpoint": unescape(bits[1]),
                    "fstype": bits[2],
                    "options": bits[3].split(","),
                }
            )
    return out


def _int_or_none(text: str) -> int | None:
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else None


def _limits(text: str) -> dict:
    vals = _lines(text)

    def one(v: str) -> int | None:
        return -1 if v.strip() == "unlimited" else _int_or_none(v)

    return {
        "nofile": one(vals[0]) if vals else None,
        "memlock_kib": one(vals[1]) if len(vals) > 1 else None,
    }


def _fuse(text: str) -> dict:
    dev = False
    versions = []
    for ln in _lines(text):
        if ln.strip() == "dev":
            dev = True
        m = re.search(r"libfuse3\.so\.(\d+)\.(\d+)(?:\.(\d+))?", ln)
        if m:
            versions.append(tuple(int(x or 0) for x in m.groups()))
        m = re.search(r"fusermount3 version:\s*(\d+)\.(\d+)(?:\.(\d+))?", ln)
        if m:
            versions.append(tuple(int(x or 0) for x in m.groups()))
    best = max(versions) if versions else None
    return {"dev_fuse": dev, "version": ".".join(map(str, best)) if best else None}


def _clock(text: str) -> dict:
    """{synchronized: True/False/None, source}: timedatectl, then chrony, then ntpstat."""
    for ln in _lines(text):
        key, _, val = ln.partition("=")
        val = val.strip()
        if key == "timedatectl" and val in ("yes", "no"):
            return {"synchronized": val == "yes", "source": "timedatectl"}
        if key == "chrony" and val:
            return {"synchronized": "Normal" in val, "source": "chronyc"}
        if key == "ntpstat" and val.isdigit():
            return {"synchronized": val == "0", "source": "ntpstat"}
    return {"synchronized": None, "source": None}


def _listening(text: str) -> list[int]:
    ports = set()
    for ln in _lines(text):
        bits = ln.split()
        if len(bits) > 3 and bits[3] == "0A" and ":" in bits[1]:  # TCP_LISTEN
            ports.add(int(bits[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def _df(text: str) -> list[dict]:
    out = []
    for ln in _lines(text)[1:]:
        bits = ln.split()
        if len(bits) >= 6 and bits[3].isdigit():
            out.append({"mountpoint": bits[-1], "bytes": int(bits[1]), "available": int(bits[3])})
    return out


def _paths(text: str) -> dict[str, bool]:
    out = {}
    for ln in _lines(text):
        state, _, path = ln.partition(" ")
        out[path] = state == "yes"
    return out


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("kernel", "uname -r", lambda t: t.strip()),
        Fact("os", "cat /etc/os-release 2>/dev/null", _os_release),
        Fact("cpu", "grep -m1 'model name' /proc/cpuinfo; nproc", _cpu),
        Fact("memory", "grep -E '^(MemTotal|MemAvailable):' /proc/meminfo", _kv_ints),
        Fact(
            "nics",
            'for d in /sys/class/net/*; do echo "${d##*/} $(cat $d/operstate 2>/dev/null || echo unknown) '
            '$(cat $d/type 2>/dev/null || echo -1)"; done',
            _nics,
        ),
        Fact(
            "rdma",
            'for p in /sys/class/infiniband/*/ports/*; do [ -e "$p" ] && echo "$p $(cat $p/state) '
            '$(cat $p/link_layer 2>/dev/null || echo unknown)"; done; true',
            _rdma,
        ),
        Fact(
            "block_devices",
            'for d in /sys/block/*; do echo "${d##*/} $(cat $d/queue/rotational 2>/dev/null || echo x) '
            '$(cat $d/size 2>/dev/null || echo x)"; done',
            _block,
        ),
        Fact("mounts", "cat /proc/self/mounts", _mounts),
        Fact("aio_max_nr", "cat /proc/sys/fs/aio-max-nr 2>/dev/null", _int_or_none),
        Fact("limits", "ulimit -n; ulimit -l", _limits),
        Fact("init", "cat /proc/1/comm 2>/dev/null", lambda t: t.strip() or None),
        Fact(
            "fuse",
            "[ -c /dev/fuse ] && echo dev; "
            "for f in $(ldconfig -p 2>/dev/null | awk '/libfuse3\\.so/{print $NF}'); "
            'do readlink -f "$f"; done; fusermount3 --version 2>&1; true',
            _fuse,
        ),
        Fact(
            "clock",
            "echo timedatectl=$(timedatectl show -p NTPSynchronized --value 2>/dev/null); "
            "echo chrony=$(chronyc tracking 2>/dev/null | grep -i 'leap status'); "
            "ntpstat >/dev/null 2>&1; [ $? -le 2 ] && command -v ntpstat >/dev/null && echo ntpstat=$?; true",
            _clock,
        ),
        Fact("listening_ports", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null", _listening),
        Fact("disk_space", "df -P -B1 {arg} 2>/dev/null; true", _df),
        Fact(
            "paths",
            'for p in {arg}; do if [ -e "$p" ]; then echo "yes $p"; else echo "no $p"; fi; done',
            _paths,
        ),
    )
}
MARK = "__flyer_fact__"


def fact_script(names: Iterable[str], args: Mapping[str, Iterable[str]] | None = None) -> str:
    """One shell script printing every named fact, each after a marker line (``facts`` parses it)."""
    parts = []
    for name in names:
        cmd = FACTS[name].command
        if "{arg}" in cmd:
            cmd = cmd.replace("{arg}", " ".join(shlex.quote(a) for a in (args or {}).get(name, ())) or "/")
        parts.append(f"echo {MARK} {name}; ( {cmd} ) 2>/dev/null")
    return "\n".join(parts) + "\n"


def parse_facts(output: str) -> dict[str, Any]:
    """What ``fact_script`` printed -> {fact name: parsed value}."""
    chunks: dict[str, list[str]] = {}
    current = None
    for ln in output.splitlines():
        if ln.startswith(MARK + " "):
            current = ln.split(" ", 1)[1].strip()
            chunks[current] = []
        elif current is not None:
            chunks[current].append(ln)
    return {name: FACTS[name].parse("\n".join(lines)) for name, lines in chunks.items()}


def facts(
    names: Iterable[str] | None = None,
    *,
    args: Mapping[str, Iterable[str]] | None = None,
    run: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Gather facts (all by default) here, or through ``run(script) -> stdout`` (e.g. over SSH)."""
    names = list(names or FACTS)
    script = fact_script(names, args)
    if run is None:
        proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
        out = proc.stdout
    else:
        out = run(script)
    return parse_facts(out)
