"""Deploy a rendered 3FS cluster over SSH in the guide's order, idempotently, resumably, with a dry run,
to many hosts at once.

Each step reads what the host has now (file checksums, step markers, whether a service runs), compares it
with what is wanted, and acts only on the difference, so a second run changes nothing and a run stopped by
a failure picks up where it stopped. Steps, in the guide's order: files (binaries, configs, units, data
directories, fs.aio-max-nr) on every host at once; ClickHouse tables; monitor; init-cluster, mgmtd;
set-config META, meta; set-config STORAGE, storage; the admin user (its token goes to a 0600 file on the
admin host and is never printed); targets, chains, chain table; set-config FUSE, the token on each FUSE
host, the FUSE client. Every file and directory deploy creates is listed in a manifest on its host, which
teardown removes.

At most ``SshSettings.parallel`` hosts are worked on at once. A host that cannot be reached or fails in a
step is recorded with that step and its error, and skipped from then on; the others go on. The admin
host's steps need the admin host, and the targets and chains need every storage host: while one of those
has failed, the steps that need it wait (recorded per host), and the next run does them.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..errors import InputError
from ..io import GiB, read_bytes
from . import rendering, services
from .actions import ActionLog, Quiet, StepProgress
from .rendering import Bundle, File
from .services import Paths
from .spec import Node, remote, source
from .ssh import HostFailed, SshSettings
from .transport import Endpoint, Remote, endpoints, reach

MANIFEST = ".flyer-manifest"
MAX_RELEASE_FILE = 4 * GiB
"""Largest 3FS executable (or fdb.cluster) deploy reads into memory to copy (release builds are < 1 GiB)."""
SETTLE = 1.0
"""Seconds after a step's services started before each is checked still running (one that exits at once,
on a bad config or a missing library, fails its host with its last log line)."""


def _append(manifest: str, text: str) -> str:
    """Shell: ``manifest`` with ``text`` added, written to a temporary file (0600) renamed over it, so a full
    disk leaves the old manifest whole (never a line cut short, which teardown would read as a path)."""
    m, t = shlex.quote(manifest), shlex.quote(manifest + ".tmp")
    write = f"{{ cat {m} 2>/dev/null; printf %s {shlex.quote(text)}; }} > {t}"
    return f"( umask 077 && {write} && mv -f -- {t} {m} ) || {{ rm -f -- {t}; false; }}"


def _record(manifest: str, path: str) -> str:
    m, q = shlex.quote(manifest), shlex.quote(path)
    listed = f"grep -qxF -- {q} {m} 2>/dev/null"
    return f"{{ [ -e {q} ] || [ -L {q} ] || {listed} || {_append(manifest, path + chr(10))}; }}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Run:
    def __init__(self, bundle: Bundle, dry: bool, parallel: int, progress: StepProgress):
        c = bundle.cluster
        self.c, self.b, self.dry, self.progress = c, bundle, dry, progress
        self.hosts: dict[str, Remote] = {}
        self.where: dict[str, str] = {}
        self.slots = asyncio.Semaphore(parallel)
        self.blocked: list[str] = []
        """Failed hosts the remaining admin steps need (empty while none has failed)."""
        self.log = ActionLog(dry, [n.name for n in c.nodes])
        self.changed: dict[str, set[str]] = {n.name: set() for n in c.nodes}
        self.node = {n.name: n for n in c.nodes}
        self.admin = self.node[bundle.admin_node]
        # NOTE: every node gets the same release binaries: read and hash each once per run, not per node.
        self.read = functools.cache(
            lambda path: read_bytes(path, what="release file", limit=MAX_RELEASE_FILE)
        )
        self.digest = functools.cache(_digest)

    def act(self, host: str, step: str, what: str, changed: bool) -> None:
        self.log.add(host, step, what, changed)

    # ---- failure isolation ----------------------------------------------------------------------------
    def fail(self, name: str, step: str, e: HostFailed) -> None:
        where = f"{self.where.get(name, name)}: "
        msg = e.message[len(where) :] if e.message.startswith(where) else e.message
        self.log.fail(name, step, msg, e.hint)

    async def on(
        self, step: str, nodes: list[Node], fn: Callable[[Node], Awaitable[object]], *, label: str = ""
    ) -> list[Node]:
        """``fn`` on each of ``nodes`` that has not failed, at most ``parallel`` at once; a host whose call
        raises HostFailed is recorded failed at ``step`` and the others go on (progress hears ``label``, by
        default ``step``). Returns those it succeeded on, in ``nodes``' order."""
        todo = [n for n in nodes if n.name not in self.log.failed]
        label = label or step
        self.progress.begin(label, len(todo))
        done: set[str] = set()

        async def one(n: Node) -> None:
            async with self.slots:
                try:
                    await fn(n)
                    done.add(n.name)
                except HostFailed as e:
                    self.fail(n.name, step, e)
                finally:
                    self.progress.advance(label)

        await asyncio.gather(*(one(n) for n in todo))
        return [n for n in todo if n.name in done]

    def ready(self, step: str, needs: list[Node], nodes: list[Node]) -> bool:
        """Whether ``step`` may run on ``nodes``: not while a host of ``needs`` (or of an earlier step's) has
        failed; then ``nodes`` are recorded waiting at ``step``."""
        if not self.blocked:
            self.blocked = [n.name for n in needs if n.name in self.log.failed]
        if self.blocked:
            self.log.wait([n.name for n in nodes], step, self.blocked)
        return not self.blocked

    def p(self, n: Node) -> Paths:
        return services.paths(self.c, n)

    def record(self, n: Node, path: str) -> str:
        """Shell command: list ``path`` in ``n``'s manifest when nothing is there yet (run it before creating
        the file, so teardown removes the file and nothing deploy did not create)."""
        return _record(f"{self.p(n).install}/{MANIFEST}", path)

    def record_all(self, n: Node, paths: tuple[str, ...]) -> str:
        return "".join(f"{self.record(n, path)} && " for path in paths)

    # ---- files ----------------------------------------------------------------------------------------
    def wanted(self, n: Node) -> list[File]:
        fl = list(self.b.files[n.name])
        p = self.p(n)
        fl.append(File(p.fdb, self.read(self.c.foundationdb.cluster_file)))
        for b in services.binaries(n.roles):
            fl.append(File(f"{p.bin}/{b}", self.read(str(Path(self.c.release.bin_dir) / b)), 0o755))
        return fl

    def dirs(self, n: Node) -> list[str]:
        p = self.p(n)
        out = [p.install, p.bin, p.etc, p.run, f"{p.run}/steps", p.logs]
        if n is self.admin:
            out.append(p.chains)
        if self.c.service_manager == "systemd":
            out.append(p.units)
        if "storage" in n.roles:
            out += [f"{remote(n, d.path)}/3fs" for d in self.c.disks_of(n)]
        if "fuse" in n.roles:
            out.append(remote(n, self.c.fuse.mountpoint))
        return out

    async def files(self, n: Node) -> None:
        h = self.hosts[n.name]
        p = self.p(n)
        manifest = f"{p.install}/{MANIFEST}"
        want = self.wanted(n)
        dirs = self.dirs(n)
        # one round trip to read: checksums, missing directories (and parents), the manifest, aio-max-nr
        q = " ".join(shlex.quote(d) for d in dirs)
        qf = " ".join(shlex.quote(f.path) for f in want)
        _, out, _ = await h.run(
            f"sha256sum {qf} 2>/dev/null; "
            f'for f in {qf}; do [ -e "$f" ] || [ -L "$f" ] || echo "absent $f"; done; '
            f'for d in {q}; do while [ ! -d "$d" ]; do echo "missing $d"; d=$(dirname "$d"); done; done; '
            f"sed 's/^/listed /' {shlex.quote(manifest)} 2>/dev/null; "
            'echo "aio $(cat /proc/sys/fs/aio-max-nr 2>/dev/null)"; true'
        )
        have, missing, absent_files, listed, aio = {}, [], [], set(), 0
        for line in out.splitlines():
            if line.startswith("missing "):
                missing.append(line[8:])
            elif line.startswith("absent "):
                absent_files.append(line[7:])
            elif line.startswith("listed "):
                listed.add(line[7:])
            elif line.startswith("aio "):
                aio = int(line[4:].strip() or 0)
            else:
                digest, _, path = line.partition("  ")
                if path:
                    have[path] = digest
        missing = sorted(set(missing), key=lambda d: d.count("/"))
        if "storage" in n.roles:  # never create a disk's mount point: 3FS would fill the root file system
            absent = [remote(n, d.path) for d in self.c.disks_of(n) if remote(n, d.path) in missing]
            if absent:
                raise HostFailed(
                    f"{self.hosts[n.name].ep.where}: disk path {absent[0]} does not exist",
                    hint="mount the SSD's XFS file system there (flyer fs3 preflight checks every disk)",
                )
        for d in dirs:
            self.act(n.name, "files", f"directory {d}", d in missing)
        uploads = []
        for f in want:
            change = have.get(f.path) != self.digest(f.data)
            self.act(n.name, "files", f"{'upload' if change else 'same'} {f.path}", change)
            if change:
                self.changed[n.name].add(f.path)
                uploads.append((f.path, f.data, f.mode))
        # NOTE: the manifest lists only what did not exist before (directories made, files first written),
        # recorded before it is created: teardown removes nothing else.
        entries = [e for e in [*missing, *absent_files] if e not in listed]
        then = []
        need_aio = "storage" in n.roles and aio < self.c.storage.aio_max_nr
        if "storage" in n.roles:
            self.act(n.name, "files", f"sysctl fs.aio-max-nr={self.c.storage.aio_max_nr}", need_aio)
        if need_aio:
            then.append(f"sysctl -w fs.aio-max-nr={self.c.storage.aio_max_nr} >/dev/null")
        if self.dry or not (missing or uploads or then):
            return
        if missing or entries:
            body = "".join(f"{e}\n" for e in entries)
            await h.run(
                f"mkdir -p -- {shlex.quote(p.install)} && {{ {_append(manifest, body)}; }}"
                + "".join(f" && mkdir -p -- {shlex.quote(d)}" for d in missing)
            )
        await h.put_many(uploads, then=" && ".join(then))

    # ---- steps and services ---------------------------------------------------------------------------
    async def step(self, name: str, key: str, command: str, *, host: Node | None = None) -> None:
        """Run ``command`` on the admin host (or ``host``) unless the marker for ``name`` already holds
        ``key`` (one round trip: the check, the command and the new marker together)."""
        await self.on(name, [host or self.admin], lambda n: self._step(n, name, key, command))

    async def _step(self, n: Node, name: str, key: str, command: str) -> None:
        h = self.hosts[n.name]
        marker_path = f"{self.p(n).run}/steps/{name}"
        marker = shlex.quote(marker_path)
        same = f'[ "$(cat {marker} 2>/dev/null)" = {shlex.quote(key)} ]'
        if self.dry:
            code, _, _ = await h.run(same, check=False)
        else:
            _, out, _ = await h.run(
                f"if {same}; then echo done-before; "
                f"else {self.record(n, marker_path)} && ( {command} ) && "
                f"printf %s {shlex.quote(key)} > {marker} "
                f"&& chmod 600 {marker}; fi"
            )
            code = 0 if out.strip().endswith("done-before") else 1
        todo = code != 0
        self.act(n.name, name, name if todo else f"{name} (done before)", todo)

    async def set_config(self, kind: str, role: str, name: str) -> None:
        """``set-config --type KIND`` with the role's rendered config, staged on the admin host (3FS keeps one
        config per type, so the first node with the role provides it)."""
        src = self.c.with_role(role)[0]
        path = f"{self.p(src).etc}/{name}"
        data = next(f.data for f in self.b.files[src.name] if f.path == path)
        staged = f"{self.p(self.admin).run}/{name}"
        cmd = self.admin_cli(shlex.quote(f"set-config --type {kind} --file {staged}"))

        async def one(n: Node) -> None:
            if not self.dry:
                await _ensure(self.hosts[n.name], staged, data, self.record(n, staged))
            await self._step(n, f"set-config-{role}", _digest(data), cmd)

        await self.on(f"set-config-{role}", [self.admin], one)

    def admin_cli(self, cmd: str, *, token: bool = False) -> str:
        return f"{services.admin_cli(self.c, self.admin, token=token)} {cmd}"

    async def service(self, role: str) -> None:
        """Start the role's service on each of its hosts where it is not running; restart it where one of its
        files changed in this run (one round trip per host); then, after SETTLE seconds, check that each one
        started is still running."""
        svc = services.SERVICES[role]
        started: list[Node] = []

        async def one(n: Node) -> None:
            h = self.hosts[n.name]
            ctl = services.control(self.c, n, role)
            mine = [f for f in self.changed[n.name] if svc.binary in f or f.endswith(f"/{svc.unit}.service")]
            mine += [f for f in self.changed[n.name] if f.endswith(("/fdb.cluster", "/token.txt"))]
            up, stop = ctl.up, ctl.stop
            start = self.record_all(n, ctl.creates) + ctl.start
            running_verb = "restart" if mine else "running"
            if self.dry:
                code, _, _ = await h.run(up, check=False)
                verb = running_verb if code == 0 else "start"
            else:
                again = f"{stop}; {start}; echo restart" if mine else "echo running"
                _, out, _ = await h.run(f"if {up}; then {again}; else {start}; echo start; fi")
                verb = out.strip().splitlines()[-1] if out.strip() else "start"
            changed = verb != "running"
            self.act(n.name, role, f"{verb} {svc.unit}" if changed else f"{svc.unit} running", changed)
            if changed and not self.dry:
                started.append(n)

        async def running(n: Node) -> None:
            ctl = services.control(self.c, n, role)
            _, out, _ = await self.hosts[n.name].run(f"if {ctl.up}; then echo up; else {ctl.tail}; fi; true")
            if out.strip() != "up":
                said = out.strip().splitlines()[-1:] or ["no output"]
                raise HostFailed(f"{svc.unit} exited within {SETTLE:g} s of its start: {said[0]}")

        nodes = self.c.with_role(role)
        if not self.ready(role, [self.admin] if role != "monitor" else [], nodes):
            return
        await self.on(role, nodes, one)
        if started:
            await asyncio.sleep(SETTLE)
            await self.on(role, started, running, label=f"{role} check")

    async def token_to_fuse(self) -> None:
        src = self.p(self.admin).token
        fuse = self.c.with_role("fuse")
        token: list[bytes] = []

        async def read(n: Node) -> None:
            _, out, _ = await self.hosts[n.name].run(f"cat {shlex.quote(src)}")
            if not out.strip():
                raise HostFailed(f"the admin token file {src} is empty (user-add failed?)")
            token.append(out.strip().encode() + b"\n")

        if not self.ready("token", [self.admin], fuse):
            return
        if not self.dry:
            await self.on("token", [self.admin], read, label="token read")
            if not self.ready("token", [self.admin], fuse):
                return

        async def one(n: Node) -> None:
            if n is self.admin:
                self.act(n.name, "token", "token file in place", False)
                return
            h = self.hosts[n.name]
            dest = self.p(n).token
            have = (await h.sha256([dest])).get(dest)
            change = not token or have != _digest(token[0])
            self.act(n.name, "token", f"token file {dest} (0600)", change)
            if change and token:
                await h.run(self.record(n, dest))
                await h.put(dest, token[0], 0o600)
                self.changed[n.name].add(dest)

        await self.on("token", fuse, one)


def _chain_digest(b: Bundle, name: str) -> str:
    return _digest(next(f.data for f in b.files[b.admin_node] if f.path.endswith("/" + name)))


async def _deploy(b: Bundle, eps: list[Endpoint], r: _Run) -> ActionLog:
    c = b.cluster
    r.where = {ep.name: ep.where for ep in eps}
    begin, done = (lambda: r.progress.begin("connect", len(eps))), (lambda: r.progress.advance("connect"))
    async with reach(eps, r.slots, begin, done) as (hosts, unreachable):
        r.hosts = hosts
        for name, e in unreachable.items():
            r.fail(name, "connect", e)
        await r.on("files", c.nodes, r.files)
        pa = r.p(r.admin)
        mons = c.with_role("monitor")
        if mons and c.monitor and c.monitor.create_tables:
            ch = c.monitor.clickhouse
            sql = f"{r.p(mons[0]).etc}/3fs-monitor.sql"
            env = ""
            if ch.password_file:  # NOTE: read on the host, so the password is in no process's arguments
                pw_file = shlex.quote(f"{r.p(mons[0]).etc}/clickhouse.password")
                env = f'CLICKHOUSE_PASSWORD="$(cat {pw_file})" '
            await r.step(
                "clickhouse-tables",
                _digest(rendering.monitor_sql(ch.db).encode()),
                f"{env}{shlex.quote(ch.client)} --host {shlex.quote(ch.host)} --port {ch.port} "
                f"--user {shlex.quote(ch.user)} "
                f"-n < {shlex.quote(sql)}",
                host=mons[0],
            )
        if mons:
            await r.service("monitor")
        cmd = dict(rendering.admin_steps(c, r.admin))
        admin = [r.admin]
        if r.ready("init-cluster", admin, admin):
            await r.step("init-cluster", "1", r.admin_cli(shlex.quote(cmd["init-cluster"])))
        await r.service("mgmtd")
        if r.ready("set-config-meta", admin, admin):
            await r.set_config("META", "meta", "meta_main.toml")
        await r.service("meta")
        if r.ready("set-config-storage", admin, admin):
            await r.set_config("STORAGE", "storage", "storage_main.toml")
        await r.service("storage")
        tok, tmp = shlex.quote(pa.token), shlex.quote(pa.token + ".tmp")
        if r.ready("user-add", admin, admin):
            await r.step(
                "user-add",
                "1",
                f"umask 077 && {r.record(r.admin, pa.token)} && {r.record(r.admin, pa.token + '.tmp')} && "
                f"{r.admin_cli(shlex.quote(cmd['user-add']))} "
                f"| {services.TOKEN_FILTER} > {tmp} && test -s {tmp} && mv -f {tmp} {tok}",
            )
        # NOTE: create-target asks each storage node to make its targets: every storage host must be up
        storage = [r.admin, *c.with_role("storage")]
        for name, file, command in (
            ("create-targets", "create_target_cmd.txt", r.admin_cli(cmd["create-targets"], token=True)),
            (
                "upload-chains",
                "generated_chains.csv",
                r.admin_cli(shlex.quote(cmd["upload-chains"]), token=True),
            ),
            (
                "upload-chain-table",
                "generated_chain_table.csv",
                r.admin_cli(shlex.quote(cmd["upload-chain-table"]), token=True),
            ),
        ):
            if r.ready(name, storage, admin):
                await r.step(name, _chain_digest(b, file), command)
        if c.with_role("fuse"):
            if r.ready("set-config-fuse", storage, admin):
                await r.set_config("FUSE", "fuse", "hf3fs_fuse_main.toml")
            await r.token_to_fuse()
            await r.service("fuse")
        return r.log


async def _ensure(h: Remote, path: str, data: bytes, record: str) -> None:
    """Write ``path`` only when its content differs (admin_cli reads staged copies of shared configs),
    running the shell command ``record`` first (``_Run.record``)."""
    if (await h.sha256([path])).get(path) != _digest(data):
        await h.run(record)
        await h.put(path, data)


def deploy(
    bundle: Bundle,
    *,
    ssh: SshSettings = SshSettings(),
    dry_run: bool = False,
    progress: StepProgress = Quiet(),
) -> ActionLog:
    """Bring every host of ``bundle.cluster`` to the rendered state (see the module docstring), at most
    ``ssh.parallel`` hosts at once; ``dry_run`` only compares (and lists the hosts it cannot reach).
    ``progress`` hears each step begin and each host finish it. A host that fails does not stop the others:
    the log records it (``report().hosts``), and ``log.check()`` raises one HostFailed naming every failed
    host with its step and error.

    Example: ``deploy(render(load("cluster.yaml")), dry_run=True).report()``
    """
    c = bundle.cluster
    eps = endpoints(c, ssh)
    needed = {b for n in c.nodes for b in services.binaries(n.roles)}
    missing = sorted(b for b in needed if not (Path(c.release.bin_dir) / b).is_file())
    if missing:
        raise InputError(
            f"{', '.join(missing)} not found in {c.release.bin_dir}",
            file=source(c),
            field="release.bin_dir",
            hint="point it at 3FS's build/bin",
        )
    return asyncio.run(_deploy(bundle, eps, _Run(bundle, dry_run, ssh.parallel, progress)))
