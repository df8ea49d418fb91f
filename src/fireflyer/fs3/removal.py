"""Undo a deploy: stop every service it started, then remove what each host's manifest lists (files, and
directories only when empty), deepest first, the manifest itself last."""

from __future__ import annotations

import asyncio
import shlex

from . import services
from .actions import ActionLog
from .deployment import MANIFEST
from .spec import Cluster, Node, remote
from .ssh import SshSettings
from .transport import Endpoint, connected, each, endpoints


async def _teardown(c: Cluster, eps: list[Endpoint], dry: bool, purge: bool) -> ActionLog:
    log = ActionLog(dry, [n.name for n in c.nodes])
    async with connected(eps) as hosts:

        async def one(n: Node) -> None:
            h = hosts[n.name]
            p = services.paths(c, n)
            for role in reversed(services.START_ORDER):
                if role not in n.roles:
                    continue
                ctl = services.control(c, n, role)
                _, st, _ = await h.run(f"if {ctl.up}; then echo up; fi; true")
                up = st.strip() == "up"
                log.add(n.name, "stop", f"stop {ctl.unit}", up)
                if up and not dry:
                    await h.run(ctl.disable, check=False)
            if "fuse" in n.roles:
                mp = shlex.quote(remote(n, c.fuse.mountpoint))
                _, st, _ = await h.run(f"mountpoint -q {mp} && echo mounted; true")
                if st.strip() == "mounted":
                    log.add(n.name, "stop", f"unmount {mp}", True)
                    if not dry:
                        await h.run(f"umount {mp}")
            manifest = f"{p.install}/{MANIFEST}"
            _, out, _ = await h.run(f"cat {shlex.quote(manifest)} 2>/dev/null; true")
            entries = [e for e in dict.fromkeys(out.splitlines()) if e.startswith("/") and e != manifest]
            data_dirs = {f"{remote(n, d.path)}/3fs" for d in c.disks_of(n)} if "storage" in n.roles else set()
            order, last, foreign = _removal_order(c, n, entries)
            for e in foreign:
                log.add(n.name, "remove", f"{e} left (outside deploy's directories)", False)
            if dry:
                for e in order + last:
                    log.add(n.name, "remove", e, True)
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
                    log.add(n.name, "remove", e, True)
                elif e in last and held:
                    log.add(n.name, "remove", f"{e} kept (holds the manifest of what was kept)", False)
                elif e in data_dirs:
                    log.add(n.name, "remove", f"{e} kept (holds data; --purge-data removes it)", False)
                else:
                    log.add(n.name, "remove", f"{e} kept (holds files deploy did not create)", False)

        await each(c.nodes, one, limit=eps[0].ssh.parallel if eps else None)
        return log


def _removal_order(c: Cluster, n: Node, entries: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The manifest's entries in the order teardown removes them (deepest first), the install directory and
    its ancestors apart and last (the manifest lives there until the rest is gone), and entries outside
    every directory deploy writes to (a manifest edited by hand), which teardown leaves alone."""
    p = services.paths(c, n)
    roots = [p.install, p.logs, p.units, remote(n, c.fuse.mountpoint)]
    roots += [f"{remote(n, d.path)}/3fs" for d in c.disks_of(n)]

    def inside(e: str, d: str) -> bool:
        return e == d or e.startswith(d.rstrip("/") + "/")

    ours = [e for e in entries if any(inside(e, r) or inside(r, e) for r in roots)]
    foreign = [e for e in entries if e not in ours]
    last = sorted((e for e in ours if inside(p.install, e)), key=lambda e: -e.count("/"))
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
    c: Cluster, *, ssh: SshSettings = SshSettings(), dry_run: bool = False, purge_data: bool = False
) -> ActionLog:
    """Stop every service deploy started and remove what it recorded creating (each host's manifest): files,
    and directories only when empty, so what another program put there since stays (and is reported kept).
    Target data directories go, with what 3FS wrote in them, only with ``purge_data``. FoundationDB's
    cluster state is not touched (clear it with fdbcli before reusing the cluster id).

    Example: ``teardown(load("cluster.yaml"), dry_run=True).report()``
    """
    return asyncio.run(_teardown(c, endpoints(c, ssh), dry_run, purge_data))
