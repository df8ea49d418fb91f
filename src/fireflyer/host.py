"""Facts about this machine, gathered in one place: CPU, cores, caches, memory, GPUs, OS, disk space.
(The facts fs3 preflight reads on any host over SSH live in ``fireflyer.fs3.facts``.)

Cheap facts come from /proc, /sys and psutil; GPUs come from torch, imported only when an NVIDIA driver
is present. ``check_fits`` refuses, before allocating, work this machine cannot hold.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import socket
from dataclasses import dataclass
from pathlib import Path

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
