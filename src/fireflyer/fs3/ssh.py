"""How flyer reaches a cluster's hosts: one settings record, built once from the command's options and
handed to every operation over SSH (deploy, teardown, status, preflight), and the error a host's failure
raises. No asyncssh import here, so a command builds it without loading the SSH library."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CheckFailed, InputError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
MAX_PARALLEL = 1024
"""Most hosts worked on at once (each holds a connection, a file descriptor here)."""


class HostFailed(CheckFailed):
    """One or more hosts could not be reached or a command on them failed (exit 1, each host named)."""


@dataclass(frozen=True, kw_only=True)
class SshSettings:
    """SSH options shared by every host of one run (user, port and key come from the cluster's nodes)."""

    known_hosts: str = DEFAULT_KNOWN_HOSTS
    """known_hosts file that host keys are checked against."""
    accept_new_host_keys: bool = False
    """Trust and record host keys not yet known (never a changed one)."""
    timeout: float = 10.0
    """Connect and login timeout per host, in seconds."""
    parallel: int = 32
    """Hosts worked on at once (connecting, and within each step); the others wait for a free slot."""

    def __post_init__(self) -> None:
        if not 1 <= self.parallel <= MAX_PARALLEL:
            raise InputError(f"must be 1..{MAX_PARALLEL}, got {self.parallel}", field="parallel")
        if not self.timeout > 0:
            raise InputError(f"must be a positive number of seconds, got {self.timeout}", field="timeout")
