"""How flyer reaches a cluster's hosts: one settings record, built once from the command's options and
handed to every operation over SSH (deploy, teardown, status, preflight). No asyncssh import here, so a
command builds it without loading the SSH library."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


@dataclass(frozen=True, kw_only=True)
class SshSettings:
    """SSH options shared by every host of one run (user, port and key come from the cluster's nodes)."""

    known_hosts: str = DEFAULT_KNOWN_HOSTS
    """known_hosts file that host keys are checked against."""
    accept_new_host_keys: bool = False
    """Trust and record host keys not yet known (never a changed one)."""
    timeout: float = 10.0
    """Connect and login timeout per host, in seconds."""
