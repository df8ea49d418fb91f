"""A real OpenSSH server on loopback for the deploy tests: a temporary host key, an authorized key made for
the test, several loopback addresses standing for several hosts (``fleet.py`` makes up to 250 of them, with
faults injected per address)."""

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
MAX_LISTEN = 16
"""sshd listens on at most 16 addresses (its MAX_LISTEN_SOCKS); more loopback hosts share 0.0.0.0, limited
to clients on 127.0.0.0/8 (AllowUsers)."""

FAULTS = r"""#!/bin/sh
# The test sshd's ForceCommand: runs the client's command, unless a fault is waiting for this address in
# {faults}/<address> ("kill PATTERN": the command runs, then its SSH session is killed before the exit
# status goes back, when the command holds PATTERN; one shot. "slow SECONDS": every command starts late).
set -- $SSH_CONNECTION
f={faults}/$3
if [ -f "$f" ]; then
  read -r kind pattern < "$f"
  [ "$kind" = slow ] && sleep "$pattern" && exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"
  case "$SSH_ORIGINAL_COMMAND" in
    *"$pattern"*)
      rm -f "$f"
      "$SHELL" -c "$SSH_ORIGINAL_COMMAND"
      p=$PPID
      while [ "$(cat /proc/$p/comm)" != sshd ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done
      kill -9 "$p"
      exit 1;;
  esac
fi
exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"
"""


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


def start(tmp: Path, addresses: tuple[str, ...] = ADDRESSES, faults: Path | None = None) -> Server:
    """sshd on a free port for ``addresses``; with ``faults``, every command goes through the FAULTS
    wrapper reading that directory."""
    tmp.mkdir(parents=True, exist_ok=True)
    _keygen(tmp / "host_ed25519")
    _keygen(tmp / "id_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    port = free_port()
    config = tmp / "sshd_config"
    listen = [f"ListenAddress {a}" for a in addresses]
    if len(addresses) > MAX_LISTEN:
        assert all(a.startswith("127.") for a in addresses)
        listen = ["ListenAddress 0.0.0.0", "AllowUsers root@127.0.0.0/8"]
    wrapper = []
    if faults is not None:
        faults.mkdir(parents=True, exist_ok=True)
        (tmp / "faults.sh").write_text(FAULTS.format(faults=faults))
        (tmp / "faults.sh").chmod(0o755)
        wrapper = [f"ForceCommand {tmp / 'faults.sh'}"]
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                *listen,
                f"HostKey {tmp / 'host_ed25519'}",
                f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
                f"PidFile {tmp / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                # NOTE: the default 10:30:100 drops unauthenticated connections beyond 10 at random; a
                # real cluster has one sshd per host, this one stands for up to 250
                "MaxStartups 512",
                "MaxSessions 50",
                # NOTE: bash sources ~/.bashrc for a command over SSH unless SHLVL says it is nested; root's
                # .bashrc on the test machines runs pyenv init (0.3 s a command), which a host has not
                "SetEnv SHLVL=1",
                "LogLevel ERROR",
                *wrapper,
            ]  # fmt: skip
        )
        + "\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=open(tmp / "sshd.log", "w"))
    for _ in range(100):
        try:
            socket.create_connection((addresses[0], port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(tmp / 'sshd.log').read_text()}")
            time.sleep(0.05)
    pub = " ".join((tmp / "host_ed25519.pub").read_text().split()[:2])
    kh = tmp / "known_hosts"
    kh.write_text("".join(f"[{a}]:{port} {pub}\n" for a in addresses))
    return Server(port, tmp, tmp / "id_ed25519", kh, pub, proc)


def stop(s: Server) -> None:
    s.proc.terminate()
    try:
        s.proc.wait(5)
    except subprocess.TimeoutExpired:
        s.proc.kill()
