"""SSH to the cluster's hosts through asyncssh: host keys verified, keys or the agent, never passwords.

asyncssh (not pyinfra) because flyer needs its own decisions at each step: refuse an unknown host key
unless told to trust it on first use, tell a changed key from an unknown one, time out per host, report
every failing host in one line, and run the hosts of one step concurrently in one event loop without
gevent. Files travel as bytes on a command's stdin (``cat > tmp; mv``), so hosts need no SFTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from ..errors import FireflyerError, InputError
from ..io import LIMITS, check_regular, read_bytes
from .spec import Cluster, source
from .ssh import HostFailed, SshSettings

TAR_TRAILER = "Exiting with failure status due to previous errors"
T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Endpoint", "HostFailed", "Remote", "connect", "connected", "each", "endpoints", "reach"]


@dataclass(frozen=True)
class Endpoint:
    name: str
    host: str
    port: int = 22
    user: str = "root"
    key: str | None = None
    ssh: SshSettings = SshSettings()
    client_key: Any = None
    """The key read from ``key`` (``load_key``): a key, or a (key, certificate) pair."""

    @property
    def where(self) -> str:
        return f"{self.name} ({self.user}@{self.host}:{self.port})"


class Remote:
    """One open SSH connection to a host."""

    def __init__(self, ep: Endpoint, conn: asyncssh.SSHClientConnection):
        self.ep = ep
        self.conn = conn

    async def run(
        self, command: str, *, input: bytes | None = None, check: bool = True
    ) -> tuple[int, str, str]:
        """Run a shell command; a non-zero exit (with ``check``) raises HostFailed with its last error
        line."""
        try:
            res = await self.conn.run(command, input=input, encoding=None, check=False)
        except (OSError, asyncssh.Error) as e:
            raise HostFailed(f"{self.ep.where}: connection lost ({_reason(e)})") from None
        if res.exit_status is None:  # the channel closed with no exit status: the connection went
            raise HostFailed(f"{self.ep.where}: connection lost before the command finished")
        out = _text(res.stdout)
        err = _text(res.stderr)
        code = res.exit_status
        if check and code != 0:
            # admin_cli prints its errors on stdout ("Encounter error: ..." and the message); tar ends with a
            # summary line after the one that says why
            said = [ln for ln in err.strip().splitlines() if not ln.endswith(TAR_TRAILER)]
            last = (said or out.strip().splitlines() or [f"exit status {code}"])[-1]
            raise HostFailed(f"{self.ep.where}: {last}")
        return code, out, err

    async def put(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Write ``data`` to ``path`` atomically (temporary file, then rename), with ``mode``."""
        d = os.path.dirname(path)
        tmp = f"{path}.flyer-tmp"
        # NOTE: empty input never reaches the channel as EOF: an empty file is made without stdin.
        fill = "cat >" if data else ": >"
        t = shlex.quote(tmp)
        cmd = (
            f"umask 077 && mkdir -p {shlex.quote(d)} && {{ {fill} {t} && "
            f"chmod {mode:o} {t} && mv -f {t} {shlex.quote(path)} || {{ rm -f -- {t}; false; }}; }}"
        )
        await self.run(cmd, input=data or None)

    async def put_many(self, files: list[tuple[str, bytes, int]], *, then: str = "") -> None:
        """Write several files in one round trip: a tar stream of temporary names, each renamed into place
        (readers see the old file or the new one), then the shell command ``then``."""
        if not files:
            if then:
                await self.run(then)
            return
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for path, data, mode in files:
                info = tarfile.TarInfo(path.lstrip("/") + ".flyer-tmp")
                info.size, info.mode, info.mtime = len(data), mode, 0
                tar.addfile(info, io.BytesIO(data))
        tmps = [shlex.quote(p + ".flyer-tmp") for p, _, _ in files]
        moves = " && ".join(f"mv -f {t} {shlex.quote(p)}" for t, (p, _, _) in zip(tmps, files))
        # NOTE: a failed write (a full disk) leaves no temporary file behind: none is in the manifest
        undo = f"{{ rm -f -- {' '.join(tmps)}; false; }}"
        await self.run(
            f"{{ tar -x -p --no-same-owner -f - -C / && {moves} || {undo}; }}"
            + (f" && {then}" if then else ""),
            input=buf.getvalue(),
        )

    async def sha256(self, paths: Iterable[str]) -> dict[str, str]:
        """sha256 of each path that exists (missing ones are left out)."""
        paths = list(paths)
        if not paths:
            return {}
        _, out, _ = await self.run(
            "sha256sum " + " ".join(shlex.quote(p) for p in paths) + " 2>/dev/null; true"
        )
        got = {}
        for line in out.splitlines():
            digest, _, p = line.partition("  ")
            if p:
                got[p] = digest
        return got

    def close(self) -> None:
        self.conn.close()


def _text(data: object) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or getattr(e, "reason", None) or str(e) or type(e).__name__


def load_key(path: str) -> Any:
    """The private key in ``path`` (with its certificate when ``path-cert.pub`` is beside it), read through
    ``io.read_bytes``; a file that holds no usable key is an InputError naming it."""
    data = read_bytes(path, what="SSH key file", limit=LIMITS["key"])
    try:
        key = asyncssh.import_private_key(data)
    except (asyncssh.KeyImportError, ValueError) as e:
        raise InputError(
            f"not a usable SSH private key ({e})",
            file=path,
            hint="give an unencrypted OpenSSH or PEM key, or load it into ssh-agent and leave key out",
        ) from None
    cert = f"{path}-cert.pub"
    if not os.path.exists(cert):
        return key
    try:
        return key, asyncssh.import_certificate(read_bytes(cert, what="SSH certificate", limit=LIMITS["key"]))
    except (asyncssh.KeyImportError, ValueError) as e:
        raise InputError(f"not an OpenSSH certificate ({e})", file=cert) from None


def load_known_hosts(path: str) -> asyncssh.SSHKnownHosts | None:
    """The known_hosts file at ``path`` (None when there is none), read through ``io.read_bytes``; a line
    that is not a known_hosts entry is an InputError naming the file."""
    p = os.path.expanduser(path)
    if not os.path.lexists(p):
        return None
    if check_regular(p, what="known_hosts file", limit=LIMITS["known_hosts"]).st_size == 0:
        return asyncssh.import_known_hosts("")
    data = read_bytes(p, what="known_hosts file", limit=LIMITS["known_hosts"])
    try:
        return asyncssh.import_known_hosts(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(
            f"not a known_hosts file ({e})", file=p, hint="one line per host: patterns, key type, key"
        ) from None


async def connect(ep: Endpoint, known: asyncssh.SSHKnownHosts | None = None) -> Remote:
    """Open a connection, checking the host key against ``known`` (``load_known_hosts(ep.ssh.known_hosts)``);
    unknown or changed host keys, bad credentials and timeouts are one-line errors."""
    kh_path = Path(os.path.expanduser(ep.ssh.known_hosts))
    keys = known.match(ep.host, "", ep.port)[0] if known is not None else None
    trust_new = not keys
    if trust_new and not ep.ssh.accept_new_host_keys:
        raise HostFailed(
            f"{ep.where}: host key unknown (not in {kh_path})",
            hint="check the host, then rerun with --accept-new-host-keys to trust it (or ssh-keyscan it)",
        )
    opts = dict(
        host=ep.host,
        port=ep.port,
        username=ep.user,
        known_hosts=None if trust_new else known,
        client_keys=[ep.client_key] if ep.client_key is not None else (),
        agent_path=os.environ.get("SSH_AUTH_SOCK") or None,
        preferred_auth="publickey",
        password=None,
        kbdint_auth=False,
        connect_timeout=ep.ssh.timeout,
        login_timeout=ep.ssh.timeout,
        config=None,
    )
    if ep.client_key is None:
        opts.pop("client_keys")  # default: ~/.ssh/id_* and the agent
    try:
        conn = await asyncssh.connect(**opts)
    except asyncssh.HostKeyNotVerifiable:
        raise HostFailed(
            f"{ep.where}: host key does not match the one in {kh_path} (changed, or a different host)",
            hint="if the host was reinstalled, remove its old line with ssh-keygen -R and trust the new one",
        ) from None
    except asyncssh.PermissionDenied:
        raise HostFailed(
            f"{ep.where}: permission denied (publickey)",
            hint="check the user and key in the cluster description, or load the key into ssh-agent",
        ) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise HostFailed(f"{ep.where}: unreachable: no answer within {ep.ssh.timeout:g} s") from None
    except (OSError, asyncssh.Error) as e:
        raise HostFailed(f"{ep.where}: unreachable: {_reason(e)}") from None
    if trust_new:
        key = conn.get_server_host_key()
        if key is None:  # NOTE: asyncssh has one after every key exchange; typed Optional
            conn.close()
            raise HostFailed(f"{ep.where}: the server sent no host key")
        name = ep.host if ep.port == 22 else f"[{ep.host}]:{ep.port}"
        kh_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(kh_path, "ab") as fh:
            fh.write(f"{name} ".encode() + key.export_public_key("openssh").strip() + b"\n")
    return Remote(ep, conn)


async def each(hosts: list[T], fn: Callable[[T], Awaitable[R]], *, limit: int | None = None) -> list[R]:
    """``fn`` on every host concurrently (at most ``limit`` at once); every failure is collected and raised
    as one HostFailed."""
    slots = asyncio.Semaphore(limit or max(len(hosts), 1))

    async def one(h: T) -> R:
        async with slots:
            return await fn(h)

    results = await asyncio.gather(*(one(h) for h in hosts), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    for r in failed:
        if not isinstance(r, FireflyerError):
            raise r
    errors = [r for r in failed if isinstance(r, FireflyerError)]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        lines = [r.message for r in errors]
        hints = list(dict.fromkeys(r.hint for r in errors if r.hint))
        raise HostFailed(f"{len(lines)} hosts failed: " + "; ".join(lines), hint="; ".join(hints) or None)
    return [r for r in results if not isinstance(r, BaseException)]


def endpoints(c: Cluster, ssh: SshSettings) -> list[Endpoint]:
    """Every node of ``c`` as an endpoint: its address, user, port and key (each key file read once)."""
    out = []
    keys: dict[str, object] = {}
    for i, n in enumerate(c.nodes):
        s = c.ssh_for(n)
        if s.key and s.key not in keys:
            if not os.path.lexists(s.key):
                field = f"nodes[{i}].ssh.key" if n.ssh and n.ssh.key else "ssh.key"
                raise InputError(f"SSH key {s.key} not found", file=source(c), field=field)
            keys[s.key] = load_key(s.key)
        key = keys.get(s.key) if s.key else None
        out.append(Endpoint(n.name, n.host, s.port or 22, s.user or "root", s.key, ssh, key))
    return out


def _known(endpoints: list[Endpoint]) -> dict[str, asyncssh.SSHKnownHosts | None]:
    """Each known_hosts file of ``endpoints``, read once, before any connection."""
    return {p: load_known_hosts(p) for p in dict.fromkeys(e.ssh.known_hosts for e in endpoints)}


@contextlib.asynccontextmanager
async def connected(endpoints: list[Endpoint]) -> AsyncIterator[dict[str, Remote]]:
    """Connections to every endpoint, opened concurrently (``SshSettings.parallel`` at once) and closed on
    the way out: {node name: Remote}; any host that cannot be reached fails the whole (one HostFailed)."""
    known = _known(endpoints)
    limit = endpoints[0].ssh.parallel if endpoints else None
    hosts = await each(endpoints, lambda ep: connect(ep, known[ep.ssh.known_hosts]), limit=limit)
    try:
        yield {h.ep.name: h for h in hosts}
    finally:
        for h in hosts:
            h.close()


@contextlib.asynccontextmanager
async def reach(
    endpoints: list[Endpoint],
    slots: asyncio.Semaphore,
    begin: Callable[[], None] = lambda: None,
    done: Callable[[], None] = lambda: None,
) -> AsyncIterator[tuple[dict[str, Remote], dict[str, HostFailed]]]:
    """Connections to the endpoints that answer, opened concurrently (each holding one of ``slots``) once the
    known_hosts files are read (then ``begin()``; ``done()`` as each attempt ends), closed on the way out:
    ({node name: Remote}, {node name: why not})."""
    known = _known(endpoints)
    begin()
    hosts: dict[str, Remote] = {}
    failed: dict[str, HostFailed] = {}

    async def one(ep: Endpoint) -> None:
        async with slots:
            try:
                hosts[ep.name] = await connect(ep, known[ep.ssh.known_hosts])
            except HostFailed as e:
                failed[ep.name] = e
            finally:
                done()

    try:
        await asyncio.gather(*(one(ep) for ep in endpoints))
        yield hosts, failed
    finally:
        for h in hosts.values():
            h.close()
