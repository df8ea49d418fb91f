"""A real OpenSSH server on loopback for the deploy tests: a temporary host key, an authorized key made for
the test, several loopback addresses standing for several hosts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from fireflyer.cluster import free_port

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")


def skip_reason() -> str | None:
    if SSHD is None:
        return "OpenSSH's sshd is not installed (apt-get install -y openssh-server; .ci/run does)"
    if os.geteuid() != 0:
        return "sshd for the deploy tests runs as root (its privilege separation needs it)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is not installed"
    return None


@dataclass
class Server:
    port: int
    dir: Path
    key: Path
    """The authorized client key."""
    known_hosts: Path
    """A known_hosts file trusting the server's host key on every address."""
    host_pub: str
    proc: subprocess.Popen


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def start(tmp: Path) -> Server:
    tmp.mkdir(parents=True, exist_ok=True)
    _keygen(tmp / "host_ed25519")
    _keygen(tmp / "id_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                *(f"ListenAddress {a}" for a in ADDRESSES),
                f"HostKey {tmp / 'host_ed25519'}",
                f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
                f"PidFile {tmp / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "MaxStartups 50",
                "MaxSessions 50",
                "LogLevel ERROR",
            ]  # fmt: skip
        )
        + "\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=open(tmp / "sshd.log", "w"))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(tmp / 'sshd.log').read_text()}")
            time.sleep(0.05)
    pub = " ".join((tmp / "host_ed25519.pub").read_text().split()[:2])
    kh = tmp / "known_hosts"
    kh.write_text("".join(f"[{a}]:{port} {pub}\n" for a in ADDRESSES))
    return Server(port, tmp, tmp / "id_ed25519", kh, pub, proc)


def stop(s: Server) -> None:
    s.proc.terminate()
    try:
        s.proc.wait(5)
    except subprocess.TimeoutExpired:
        s.proc.kill()
