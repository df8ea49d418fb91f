"""What runs where on a node: each role's service (binary, unit, logs), the node's directories as a typed
record, the command lines, and one way to control a service, under systemd or with pid files."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from .spec import Cluster, Node, remote


@dataclass(frozen=True)
class Service:
    role: str
    binary: str
    unit: str
    """systemd unit name (without .service)."""
    logs: str
    """Base name of its log files."""
    handlers: tuple[str, ...] = ("normal", "err", "fatal")
    app: bool = True
    """Has a *_app.toml with a node id."""


SERVICES = {
    "monitor": Service(
        "monitor", "monitor_collector_main", "monitor_collector_main", "monitor_collector_main", app=False
    ),
    "mgmtd": Service("mgmtd", "mgmtd_main", "mgmtd_main", "mgmtd_main"),
    "meta": Service("meta", "meta_main", "meta_main", "hf3fs_meta_main", ("normal", "err", "fatal", "event")),
    "storage": Service("storage", "storage_main", "storage_main", "storage_main"),
    "fuse": Service("fuse", "hf3fs_fuse_main", "hf3fs_fuse_main", "hf3fs_fuse_main", app=False),
}
START_ORDER = ("monitor", "mgmtd", "meta", "storage", "fuse")


def binaries(roles: Iterable[str]) -> list[str]:
    """The release binaries a node with these roles runs: admin_cli and each service's, in start order."""
    return ["admin_cli", *(SERVICES[r].binary for r in START_ORDER if r in roles)]


@dataclass(frozen=True)
class Paths:
    """Directories and files of 3FS on one node (its root applied)."""

    install: str
    bin: str
    etc: str
    chains: str
    """The chain table files (on the admin node)."""
    run: str
    """Pid files, staged configs and deploy's step markers."""
    logs: str
    units: str
    """systemd unit files."""
    fdb: str
    """The FoundationDB cluster file."""
    token: str
    """The admin token file (0600)."""
    admin_cfg: str
    """admin_cli.toml."""


def paths(c: Cluster, node: Node) -> Paths:
    """Directories on ``node`` (root applied)."""
    inst = remote(node, c.install_dir)
    return Paths(
        install=inst,
        bin=f"{inst}/bin",
        etc=f"{inst}/etc",
        chains=f"{inst}/etc/chains",
        run=f"{inst}/run",
        logs=remote(node, c.log_dir),
        units=remote(node, c.unit_dir),
        fdb=f"{inst}/etc/fdb.cluster",
        token=f"{inst}/etc/token.txt",
        admin_cfg=f"{inst}/etc/admin_cli.toml",
    )


def command(c: Cluster, node: Node, role: str) -> list[str]:
    """The service's command line, as its systemd unit runs it."""
    p = paths(c, node)
    svc = SERVICES[role]
    exe = f"{p.bin}/{svc.binary}"
    if role == "monitor":
        return [exe, "--cfg", f"{p.etc}/{svc.binary}.toml"]
    if role == "fuse":
        return [exe, "--launcher_cfg", f"{p.etc}/{svc.binary}_launcher.toml"]
    return [
        exe,
        "--launcher_cfg",
        f"{p.etc}/{svc.binary}_launcher.toml",
        "--app-cfg",
        f"{p.etc}/{svc.binary}_app.toml",
    ]


TOKEN_FILTER = "sed -n 's/^Token *\\([^( ]*\\)(.*/\\1/p' | head -n 1"
"""Shell filter from ``admin_cli user-add``'s output to the token alone (its line ``Token <token>(...)``)."""


def admin_cli(c: Cluster, node: Node, *, token: bool = False) -> str:
    """The admin_cli command line on ``node``, with the admin token file's content when ``token``."""
    p = paths(c, node)
    base = f"{shlex.quote(p.bin + '/admin_cli')} -cfg {shlex.quote(p.admin_cfg)}"
    if token:
        base += f' --config.user_info.token "$(cat {shlex.quote(p.token)})"'
    return base


@dataclass(frozen=True)
class Control:
    """Shell commands that control one service on one node, the same shape under systemd and pid files."""

    unit: str
    up: str
    """Exits 0 while the service runs."""
    start: str
    stop: str
    """Stop it for a restart (waits until it is gone)."""
    disable: str
    """Stop it for good (teardown): the unit disabled, or the process ended within two seconds."""
    tail: str = "true"
    """Prints the service's last line of output (why it stopped)."""
    creates: tuple[str, ...] = ()
    """Files ``start`` creates (pid file, captured output), for the manifest of what deploy made."""


def control(c: Cluster, node: Node, role: str) -> Control:
    """How to control ``role``'s service on ``node`` under ``c.service_manager``."""
    unit = SERVICES[role].unit
    if c.service_manager == "systemd":
        return Control(
            unit,
            up=f"systemctl is-active --quiet {unit}",
            start=f"systemctl daemon-reload && systemctl enable --quiet {unit} && systemctl start {unit}",
            stop=f"systemctl daemon-reload && systemctl stop {unit}",
            disable=f"systemctl disable --now {unit}",
            tail=f"journalctl -u {unit} -n 1 -o cat --no-pager 2>/dev/null",
        )
    p = paths(c, node)
    pid_path, log_path = f"{p.run}/{unit}.pid", f"{p.logs}/{unit}.stdout"
    pid = shlex.quote(pid_path)
    # NOTE: a service that exited stays a zombie until PID 1 reaps it (some container inits never do), and
    # kill -0 succeeds on a zombie: its /proc status says Z
    alive = (
        f'{{ p="$(cat {pid} 2>/dev/null)" && kill -0 "$p" 2>/dev/null && '
        f"! grep -qs '^State:[[:space:]]*Z' /proc/\"$p\"/status; }}"
    )
    return Control(
        unit,
        up=alive,
        # NOTE: only the service itself goes to the background, with every stream redirected: a
        # backgrounded list would keep the SSH channel open for as long as the service runs.
        start=(
            f"cd {shlex.quote(p.run)} && "
            f"{{ setsid nohup {shlex.join(command(c, node, role))} "
            f">> {shlex.quote(log_path)} 2>&1 < /dev/null & echo $! > {pid}; }}"
        ),
        stop=f'kill "$(cat {pid})" 2>/dev/null; while {alive}; do sleep 0.05; done',
        disable=f'kill "$(cat {pid})"; for i in 1 2 3 4 5 6 7 8 9 10; do {alive} || break; sleep 0.2; done',
        tail=f"tail -n 1 {shlex.quote(log_path)} 2>/dev/null",
        creates=(pid_path, log_path),
    )
