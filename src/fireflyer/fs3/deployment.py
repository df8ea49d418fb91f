"""Deploy a rendered 3FS cluster over SSH in the guide's order, idempotently, resumably, with a dry run.

Each step reads what the host has now (file checksums, step markers, whether a service runs), compares it
with what is wanted, and acts only on the difference, so a second run changes nothing and a run stopped by
a failure picks up where it stopped. Steps, in the guide's order: files (binaries, configs, units, data
directories, fs.aio-max-nr) on every host at once; ClickHouse tables; monitor; init-cluster, mgmtd;
set-config META, meta; set-config STORAGE, storage; the admin user (its token goes to a 0600 file on the
admin host and is never printed); targets, chains, chain table; set-config FUSE, the token on each FUSE
host, the FUSE client. Every file and directory deploy creates is listed in a manifest on its host, which
teardown removes.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from ..io import GiB, read_bytes
from . import rendering
from .rendering import SERVICES, START_ORDER, Bundle, File
from .spec import Cluster, Node, remote, source
from .transport import DEFAULT_KNOWN_HOSTS, Endpoint, Host, HostFailed, close_all, each, load_key, open_all

MANIFEST = ".flyer-manifest"
MAX_RELEASE_FILE = 4 * GiB
"""Largest 3FS executable (or fdb.cluster) deploy reads into memory to copy (release builds are < 1 GiB)."""


@dataclass
class Action:
    host: str
    step: str
    what: str
    changed: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    """What a deploy or teardown did (or, in a dry run, would do)."""

    dry_run: bool
    actions: list[Action] = field(default_factory=list)

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.changed]

    def summary(self) -> dict:
        per: dict[str, int] = {}
        for a in self.changes:
            per[a.host] = per.get(a.host, 0) + 1
        return {
            "dry_run": self.dry_run,
            "changed": len(self.changes),
            "changed_per_host": dict(sorted(per.items())),
            "actions": [a.as_dict() for a in self.actions],
        }


def endpoints(
    c: Cluster, *, known_hosts: str = DEFAULT_KNOWN_HOSTS, accept_new: bool = False, timeout: float = 10.0
) -> list[Endpoint]:
    out = []
    keys: dict[str, object] = {}
    for i, n in enumerate(c.nodes):
        s = c.ssh_for(n)
        if s.key and s.key not in keys:
            if not os.path.lexists(s.key):
                field = f"nodes[{i}].ssh.key" if n.ssh and n.ssh.key else "ssh.key"
                raise InputError(f"SSH key {s.key} not found", file=source(c), field=field)
            keys[s.key] = load_key(s.key)
        out.append(
            Endpoint(
                n.name,
                n.host,
                s.port or 22,
                s.user or "root",
                s.key,
                known_hosts,
                accept_new,
                timeout,
                keys.get(s.key) if s.key else None,
            )
        )
    return out


def _record(manifest: str, path: str) -> str:
    m, q = shlex.quote(manifest), shlex.quote(path)
    return f"{{ [ -e {q} ] || [ -L {q} ] || grep -qxF -- {q} {m} 2>/dev/null || printf '%s\\n' {q} >> {m}; }}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Run:
    def __init__(
        self, c: Cluster, bundle: Bundle, hosts: dict[str, Host], dry: bool, note: Callable[[str], None]
    ):
        self.c, self.b, self.hosts, self.dry, self.note = c, bundle, hosts, dry, note
        self.plan = Plan(dry)
        self.changed: dict[str, set[str]] = {n.name: set() for n in c.nodes}
        self.node = {n.name: n for n in c.nodes}
        self.admin = self.node[bundle.admin_node]
        # NOTE: every node gets the same release binaries: read and hash each once per run, not per node.
        self.read = functools.cache(
            lambda path: read_bytes(path, what="release file", limit=MAX_RELEASE_FILE)
        )
        self.digest = functools.cache(_digest)

    def act(self, host: str, step: str, what: str, changed: bool) -> None:
        self.plan.actions.append(Action(host, step, what, changed))

    def p(self, n: Node) -> dict[str, str]:
        return rendering.paths(self.c, n)

    def record(self, n: Node, path: str) -> str:
        """Shell command: list ``path`` in ``n``'s manifest when nothing is there yet (run it before creating
        the file, so teardown removes the file and nothing deploy did not create)."""
        return _record(f"{self.p(n)['install']}/{MANIFEST}", path)

    # ---- files ----------------------------------------------------------------------------------------
    def wanted(self, n: Node) -> list[File]:
        fl = list(self.b.files[n.name])
        p = self.p(n)
        fl.append(File(p["fdb"], self.read(self.c.foundationdb.cluster_file)))
        for b in rendering.binaries(n.roles):
            fl.append(File(f"{p['bin']}/{b}", self.read(str(Path(self.c.release.bin_dir) / b)), 0o755))
        return fl

    def dirs(self, n: Node) -> list[str]:
        p = self.p(n)
        out = [p["install"], p["bin"], p["etc"], p["run"], f"{p['run']}/steps", p["logs"]]
        if n is self.admin:
            out.append(p["chains"])
        if self.c.service_manager == "systemd":
            out.append(p["units"])
        if "storage" in n.roles:
            out += [f"{remote(n, d.path)}/3fs" for d in self.c.disks_of(n)]
        if "fuse" in n.roles:
            out.append(remote(n, self.c.fuse.mountpoint))
        return out

    async def files(self, n: Node) -> None:
        h = self.hosts[n.name]
        p = self.p(n)
        manifest = f"{p['install']}/{MANIFEST}"
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
            m = shlex.quote(manifest)
            await h.run(
                f"mkdir -p -- {shlex.quote(p['install'])} && printf %s {shlex.quote(body)} >> {m} && "
                f"chmod 600 {m}" + "".join(f" && mkdir -p -- {shlex.quote(d)}" for d in missing)
            )
        await h.put_many(uploads, then=" && ".join(then))

    # ---- steps and services ---------------------------------------------------------------------------
    async def step(self, name: str, key: str, command: str, *, host: Node | None = None) -> bool:
        """Run ``command`` on the admin host unless the marker for ``name`` already holds ``key`` (one round
        trip: the check, the command and the new marker together)."""
        n = host or self.admin
        h = self.hosts[n.name]
        marker_path = f"{self.p(n)['run']}/steps/{name}"
        marker = shlex.quote(marker_path)
        same = f'[ "$(cat {marker} 2>/dev/null)" = {shlex.quote(key)} ]'
        if self.dry:
            code, _, _ = await h.run(same, check=False)
        else:
            try:
                _, out, _ = await h.run(
                    f"if {same}; then echo done-before; "
                    f"else {self.record(n, marker_path)} && ( {command} ) && "
                    f"printf %s {shlex.quote(key)} > {marker} "
                    f"&& chmod 600 {marker}; fi"
                )
            except HostFailed as e:
                e.message = e.message.replace(": ", f": {name}: ", 1)
                e.hint = "fix it, then run deploy again: it resumes at this step"
                raise
            code = 0 if out.strip().endswith("done-before") else 1
        todo = code != 0
        self.act(n.name, name, name if todo else f"{name} (done before)", todo)
        return todo

    async def set_config(self, kind: str, role: str, name: str) -> None:
        """``set-config --type KIND`` with the role's rendered config, staged on the admin host (3FS keeps one
        config per type, so the first node with the role provides it)."""
        src = self.c.with_role(role)[0]
        path = f"{rendering.paths(self.c, src)['etc']}/{name}"
        data = next(f.data for f in self.b.files[src.name] if f.path == path)
        staged = f"{self.p(self.admin)['run']}/{name}"
        if not self.dry:
            await _ensure(self.hosts[self.admin.name], staged, data, self.record(self.admin, staged))
        await self.step(
            f"set-config-{role}",
            _digest(data),
            self.admin_cli(shlex.quote(f"set-config --type {kind} --file {staged}")),
        )

    def admin_cli(self, cmd: str, *, token: bool = False) -> str:
        return f"{rendering.admin_cli(self.c, self.admin, token=token)} {cmd}"

    async def service(self, role: str) -> None:
        """Start the role's service on each of its hosts where it is not running; restart it where one of its
        files changed in this run. One round trip per host."""

        async def one(n: Node) -> None:
            h = self.hosts[n.name]
            svc = SERVICES[role]
            p = self.p(n)
            mine = [f for f in self.changed[n.name] if svc.binary in f or f.endswith(f"/{svc.unit}.service")]
            mine += [f for f in self.changed[n.name] if f.endswith(("/fdb.cluster", "/token.txt"))]
            if self.c.service_manager == "systemd":
                up = f"systemctl is-active --quiet {svc.unit}"
                start = f"systemctl daemon-reload && systemctl enable --quiet {svc.unit} && "
                start += f"systemctl start {svc.unit}"
                stop = f"systemctl daemon-reload && systemctl stop {svc.unit}"
            else:
                pid_path, log_path = f"{p['run']}/{svc.unit}.pid", f"{p['logs']}/{svc.unit}.stdout"
                pid = shlex.quote(pid_path)
                up = f'kill -0 "$(cat {pid} 2>/dev/null)" 2>/dev/null'
                # NOTE: only the service itself goes to the background, with every stream redirected: a
                # backgrounded list would keep the SSH channel open for as long as the service runs.
                start = (
                    f"{self.record(n, pid_path)} && {self.record(n, log_path)} && "
                    f"cd {shlex.quote(p['run'])} && "
                    f"{{ setsid nohup {shlex.join(rendering.command(self.c, n, role))} "
                    f">> {shlex.quote(log_path)} 2>&1 < /dev/null & echo $! > {pid}; }}"
                )
                stop = (
                    f'kill "$(cat {pid})" 2>/dev/null; '
                    f'while kill -0 "$(cat {pid})" 2>/dev/null; do sleep 0.05; done'
                )
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

        await each(self.c.with_role(role), one)

    async def token_to_fuse(self) -> None:
        src = self.p(self.admin)["token"]
        token: bytes | None = None
        if not self.dry:
            _, out, _ = await self.hosts[self.admin.name].run(f"cat {shlex.quote(src)}")
            token = out.strip().encode() + b"\n"
            if len(token) < 2:
                raise HostFailed(f"{self.admin.name}: the admin token file {src} is empty (user-add failed?)")

        async def one(n: Node) -> None:
            if n is self.admin:
                self.act(n.name, "token", "token file in place", False)
                return
            h = self.hosts[n.name]
            dest = self.p(n)["token"]
            have = (await h.sha256([dest])).get(dest)
            change = token is None or have != _digest(token)
            self.act(n.name, "token", f"token file {dest} (0600)", change)
            if change and token is not None:
                await h.run(self.record(n, dest))
                await h.put(dest, token, 0o600)
                self.changed[n.name].add(dest)

        await each(self.c.with_role("fuse"), one)


def _chain_digest(b: Bundle, name: str) -> str:
    return _digest(next(f.data for f in b.files[b.admin_node] if f.path.endswith("/" + name)))


async def _deploy(c: Cluster, b: Bundle, eps: list[Endpoint], dry: bool, note) -> Plan:
    hosts = await open_all(eps)
    try:
        r = _Run(c, b, hosts, dry, note)
        note("files on every host")
        await each(c.nodes, r.files)
        pa = r.p(r.admin)
        mons = c.with_role("monitor")
        if mons and c.monitor and c.monitor.create_tables:
            ch = c.monitor.clickhouse
            sql = f"{r.p(mons[0])['etc']}/3fs-monitor.sql"
            env = ""
            if ch.password_file:  # NOTE: read on the host, so the password is in no process's arguments
                pw_file = shlex.quote(f"{r.p(mons[0])['etc']}/clickhouse.password")
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
            note("monitor")
            await r.service("monitor")
        note("init-cluster, mgmtd")
        cmd = dict(rendering.admin_steps(c, r.admin))
        await r.step("init-cluster", "1", r.admin_cli(shlex.quote(cmd["init-cluster"])))
        await r.service("mgmtd")
        note("meta")
        await r.set_config("META", "meta", "meta_main.toml")
        await r.service("meta")
        note("storage")
        await r.set_config("STORAGE", "storage", "storage_main.toml")
        await r.service("storage")
        note("admin user, targets, chains")
        tok, tmp = shlex.quote(pa["token"]), shlex.quote(pa["token"] + ".tmp")
        await r.step(
            "user-add",
            "1",
            f"umask 077 && {r.record(r.admin, pa['token'])} && {r.record(r.admin, pa['token'] + '.tmp')} && "
            f"{r.admin_cli(shlex.quote(cmd['user-add']))} "
            f"| {rendering.TOKEN_FILTER} > {tmp} && test -s {tmp} && mv -f {tmp} {tok}",
        )
        await r.step(
            "create-targets",
            _chain_digest(b, "create_target_cmd.txt"),
            r.admin_cli(cmd["create-targets"], token=True),
        )
        await r.step(
            "upload-chains",
            _chain_digest(b, "generated_chains.csv"),
            r.admin_cli(shlex.quote(cmd["upload-chains"]), token=True),
        )
        await r.step(
            "upload-chain-table",
            _chain_digest(b, "generated_chain_table.csv"),
            r.admin_cli(shlex.quote(cmd["upload-chain-table"]), token=True),
        )
        fuse = c.with_role("fuse")
        if fuse:
            note("FUSE client")
            await r.set_config("FUSE", "fuse", "hf3fs_fuse_main.toml")
            await r.token_to_fuse()
            await r.service("fuse")
        return r.plan
    finally:
        close_all(hosts)


async def _ensure(h: Host, path: str, data: bytes, record: str) -> None:
    """Write ``path`` only when its content differs (admin_cli reads staged copies of shared configs),
    running the shell command ``record`` first (``_Run.record``)."""
    if (await h.sha256([path])).get(path) != _digest(data):
        await h.run(record)
        await h.put(path, data)


def deploy(
    c: Cluster,
    bundle: Bundle,
    *,
    dry_run: bool = False,
    known_hosts: str = DEFAULT_KNOWN_HOSTS,
    accept_new_host_keys: bool = False,
    timeout: float = 10.0,
    note: Callable[[str], None] = lambda s: None,
) -> Plan:
    """Bring every host to the rendered state (see the module docstring); ``dry_run`` only compares."""
    eps = endpoints(c, known_hosts=known_hosts, accept_new=accept_new_host_keys, timeout=timeout)
    needed = {b for n in c.nodes for b in rendering.binaries(n.roles)}
    missing = sorted(b for b in needed if not (Path(c.release.bin_dir) / b).is_file())
    if missing:
        raise InputError(
            f"{', '.join(missing)} not found in {c.release.bin_dir}",
            file=source(c),
            field="release.bin_dir",
            hint="point it at 3FS's build/bin",
        )
    return asyncio.run(_deploy(c, bundle, eps, dry_run, note))


# ---- teardown ---------------------------------------------------------------------------------------------


async def _teardown(c: Cluster, eps: list[Endpoint], dry: bool, purge: bool) -> Plan:
    hosts = await open_all(eps)
    plan = Plan(dry)
    try:

        async def one(n: Node) -> None:
            h = hosts[n.name]
            p = rendering.paths(c, n)
            for role in reversed(START_ORDER):
                if role not in n.roles:
                    continue
                svc = SERVICES[role]
                if c.service_manager == "systemd":
                    _, st, _ = await h.run(f"systemctl is-active {svc.unit} 2>/dev/null; true")
                    up = st.strip() == "active"
                    cmd = f"systemctl disable --now {svc.unit}"
                else:
                    pid = shlex.quote(f"{p['run']}/{svc.unit}.pid")
                    _, st, _ = await h.run(f'kill -0 "$(cat {pid} 2>/dev/null)" 2>/dev/null && echo up; true')
                    up = st.strip() == "up"
                    cmd = (
                        f'kill "$(cat {pid})"; for i in 1 2 3 4 5 6 7 8 9 10; do '
                        f'kill -0 "$(cat {pid})" 2>/dev/null || break; sleep 0.2; done'
                    )
                plan.actions.append(Action(n.name, "stop", f"stop {svc.unit}", up))
                if up and not dry:
                    await h.run(cmd, check=False)
            if "fuse" in n.roles:
                mp = shlex.quote(remote(n, c.fuse.mountpoint))
                _, st, _ = await h.run(f"mountpoint -q {mp} && echo mounted; true")
                if st.strip() == "mounted":
                    plan.actions.append(Action(n.name, "stop", f"unmount {mp}", True))
                    if not dry:
                        await h.run(f"umount {mp}")
            manifest = f"{p['install']}/{MANIFEST}"
            _, out, _ = await h.run(f"cat {shlex.quote(manifest)} 2>/dev/null; true")
            entries = [e for e in dict.fromkeys(out.splitlines()) if e.startswith("/") and e != manifest]
            data_dirs = {f"{remote(n, d.path)}/3fs" for d in c.disks_of(n)} if "storage" in n.roles else set()
            order, last, foreign = _removal_order(c, n, entries)
            for e in foreign:
                plan.actions.append(
                    Action(n.name, "remove", f"{e} left (outside deploy's directories)", False)
                )
            if dry:
                plan.actions += [Action(n.name, "remove", e, True) for e in order + last]
                return
            if not entries:
                return
            script = _removal_script(manifest, order, last, purge={e for e in data_dirs if purge})
            if c.service_manager == "systemd":
                script += "\nsystemctl daemon-reload || true"
            _, said, _ = await h.run(script)
            kept = {line[5:] for line in said.splitlines() if line.startswith("kept ")}
            held = kept.intersection(order)
            for e in order + last:
                if e not in kept:
                    plan.actions.append(Action(n.name, "remove", e, True))
                elif e in last and held:
                    plan.actions.append(
                        Action(n.name, "remove", f"{e} kept (holds the manifest of what was kept)", False)
                    )
                elif e in data_dirs:
                    plan.actions.append(
                        Action(n.name, "remove", f"{e} kept (holds data; --purge-data removes it)", False)
                    )
                else:
                    plan.actions.append(
                        Action(n.name, "remove", f"{e} kept (holds files deploy did not create)", False)
                    )

        await each(c.nodes, one)
        return plan
    finally:
        close_all(hosts)


def _removal_order(c: Cluster, n: Node, entries: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The manifest's entries in the order teardown removes them (deepest first), the install directory and
    its ancestors apart and last (the manifest lives there until the rest is gone), and entries outside
    every directory deploy writes to (a manifest edited by hand), which teardown leaves alone."""
    p = rendering.paths(c, n)
    roots = [p["install"], p["logs"], p["units"], remote(n, c.fuse.mountpoint)]
    roots += [f"{remote(n, d.path)}/3fs" for d in c.disks_of(n)]

    def inside(e: str, d: str) -> bool:
        return e == d or e.startswith(d.rstrip("/") + "/")

    ours = [e for e in entries if any(inside(e, r) or inside(r, e) for r in roots)]
    foreign = [e for e in entries if e not in ours]
    last = sorted((e for e in ours if inside(p["install"], e)), key=lambda e: -e.count("/"))
    order = sorted((e for e in ours if e not in last), key=lambda e: -e.count("/"))
    return order, last, foreign


def _removal_script(manifest: str, order: list[str], last: list[str], *, purge: set[str]) -> str:
    """Shell: remove each file of ``order`` and each directory only when empty (``rmdir``; ``rm -rf`` only for
    the data directories in ``purge``), printing ``kept PATH`` for what stays. When nothing stayed, the
    manifest goes, then ``last`` the same way; otherwise the manifest keeps the entries still there."""
    m = shlex.quote(manifest)
    left = shlex.quote(manifest + ".left")

    def remove(e: str) -> str:
        q = shlex.quote(e)
        if e in purge:
            return f"rm -rf -- {q} || keep {q}"
        return (
            f"if [ -d {q} ] && [ ! -L {q} ]; then rmdir -- {q} 2>/dev/null || keep {q}; "
            f"elif [ -e {q} ] || [ -L {q} ]; then rm -f -- {q} || keep {q}; fi"
        )

    lines = [
        f"rm -f -- {left}",
        f'keep() {{ echo "kept $1"; printf \'%s\\n\' "$1" >> {left} 2>/dev/null; }}',
        *(remove(e) for e in order),
        f"if [ -s {left} ]; then",
        *(f"  printf '%s\\n' {shlex.quote(e)} >> {left}; echo {shlex.quote('kept ' + e)}" for e in last),
        f"  mv -f -- {left} {m}",
        "else",
        f"  rm -f -- {left} {m}",
        *(f"  {remove(e)}" for e in last),
        f"  rm -f -- {left}",
        "fi",
        "true",
    ]
    return "\n".join(lines)


def teardown(
    c: Cluster,
    *,
    dry_run: bool = False,
    purge_data: bool = False,
    known_hosts: str = DEFAULT_KNOWN_HOSTS,
    accept_new_host_keys: bool = False,
    timeout: float = 10.0,
) -> Plan:
    """Stop every service deploy started and remove what it recorded creating (each host's manifest): files,
    and directories only when empty, so what another program put there since stays (and is reported kept).
    Target data directories go, with what 3FS wrote in them, only with ``purge_data``. FoundationDB's
    cluster state is not touched (clear it with fdbcli before reusing the cluster id)."""
    eps = endpoints(c, known_hosts=known_hosts, accept_new=accept_new_host_keys, timeout=timeout)
    return asyncio.run(_teardown(c, eps, dry_run, purge_data))


# ---- status and preflight over SSH ------------------------------------------------------------------------


def listings(
    c: Cluster,
    *,
    known_hosts: str = DEFAULT_KNOWN_HOSTS,
    accept_new_host_keys: bool = False,
    timeout: float = 10.0,
) -> dict[str, str]:
    """admin_cli's list-nodes, list-targets and list-chains output, run on the admin host."""
    admin = c.with_role("mgmtd")[0]
    ep = next(
        e
        for e in endpoints(c, known_hosts=known_hosts, accept_new=accept_new_host_keys, timeout=timeout)
        if e.name == admin.name
    )

    async def go() -> dict[str, str]:
        hosts = await open_all([ep])
        try:
            out = {}
            for cmd in ("list-nodes", "list-targets", "list-chains"):
                _, text, _ = await hosts[admin.name].run(f"{rendering.admin_cli(c, admin)} {cmd}")
                out[cmd] = text
            return out
        finally:
            close_all(hosts)

    return asyncio.run(go())


def remote_facts(
    c: Cluster,
    wants: dict,
    *,
    known_hosts: str = DEFAULT_KNOWN_HOSTS,
    accept_new_host_keys: bool = False,
    timeout: float = 10.0,
) -> dict[str, dict]:
    """Host facts (fireflyer.host's fact script) from every node, gathered concurrently over SSH."""
    from .. import host as facts_mod
    from .checks import facts_for

    eps = endpoints(c, known_hosts=known_hosts, accept_new=accept_new_host_keys, timeout=timeout)

    async def go() -> dict[str, dict]:
        hosts = await open_all(eps)
        try:

            async def one(name: str):
                names, args = facts_for(wants[name])
                _, out, _ = await hosts[name].run(facts_mod.fact_script(names, args), check=False)
                return name, facts_mod.parse_facts(out)

            return dict(await each(list(hosts), one))
        finally:
            close_all(hosts)

    return asyncio.run(go())
