"""The facts fs3 preflight reads on a host, here or over SSH, pyinfra-like: each fact is one POSIX shell
command and one parser of what it prints, so one script gathers every fact in one round trip (NICs, RDMA
devices, disks, mounts, limits, init system, clock sync, ports)."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .spec import Cluster
from .ssh import SshSettings


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


def gather(names: Iterable[str] | None = None, *, args: Mapping[str, Iterable[str]] | None = None) -> dict:
    """Facts (all by default) of this machine, by the same script preflight runs on a remote host."""
    script = fact_script(list(names or FACTS), args)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    return parse_facts(proc.stdout)


def gather_remote(c: Cluster, args: Mapping[str, Mapping[str, Iterable[str]]], ssh: SshSettings) -> dict:
    """{node name: facts} of every node of ``c``, gathered concurrently over SSH, each with its own
    fact arguments ``args[name]`` (its disk paths)."""
    from .transport import connected, each, endpoints

    async def go() -> dict[str, dict]:
        async with connected(endpoints(c, ssh)) as hosts:

            async def one(name: str) -> tuple[str, dict]:
                _, out, _ = await hosts[name].run(fact_script(FACTS, args[name]), check=False)
                return name, parse_facts(out)

            return dict(await each(list(hosts), one, limit=ssh.parallel))

    return asyncio.run(go())
