"""admin_cli's listings from a cluster's admin host, over SSH, for ``fs3 status`` (``health.assess`` reads
them)."""

from __future__ import annotations

import asyncio

from . import services
from .health import LISTINGS, Health, assess
from .spec import Cluster
from .ssh import SshSettings


def listings(c: Cluster, ssh: SshSettings = SshSettings()) -> dict[str, str]:
    """admin_cli's list-nodes, list-targets and list-chains output, run on the admin host."""
    from .transport import connected, endpoints

    admin = c.with_role("mgmtd")[0]
    ep = next(e for e in endpoints(c, ssh) if e.name == admin.name)

    async def go() -> dict[str, str]:
        async with connected([ep]) as hosts:
            out = {}
            for cmd in LISTINGS:
                _, text, _ = await hosts[admin.name].run(f"{services.admin_cli(c, admin)} {cmd}")
                out[cmd] = text
            return out

    return asyncio.run(go())


def assess_remote(c: Cluster, ssh: SshSettings = SshSettings()) -> Health:
    """Health of cluster ``c`` from its admin host's listings.

    Example: ``assess_remote(load("cluster.yaml")).ok``
    """
    return assess(*listings(c, ssh).values())
