"""Every client node at once: one job per selected node of an existing Ray cluster, pinned there (node
affinity, not soft), all started together behind a barrier, each running the same local workload as on one
host (fio, the metadata loop, the KVCache reader) on the mount, each returning its record.

The barrier is a small async actor: every job reports in, and all are released when the last one has;
each then notes its start and end by its node's clock. A job whose node dies, or that fails, fails the
whole run naming the node (hostname, IP and Ray node id); the other jobs are cancelled (a KeyboardInterrupt
in their tasks, so fio is stopped and their directories are removed) before the command returns.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ...errors import CheckFailed, FireflyerError, InputError
from .raycluster import RayCluster, check_ray_timeout, last_line, ray_endpoint, ray_session
from .reports import ClientNode
from .workloads import Progress

R = TypeVar("R")

MAX_CLIENTS = 100_000
MAX_STORAGE_NODES = 100_000
CANCEL_WAIT = 30.0
"""Seconds the other jobs get to stop and remove their files after one failed."""
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
"""A hostname as RFC 1123 allows it (IP addresses are checked by ``ipaddress``)."""


@dataclass(frozen=True)
class Clients:
    """Which nodes of the Ray cluster run a job: every live node with CPUs (the default), the first
    ``count`` of them (sorted by hostname, IP, node id), or those whose hostname or IP is in ``hosts``."""

    count: int | None = None
    hosts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Clients:
        """``all``, a count such as ``4``, or ``host1,host2,10.0.0.3``; InputError naming the bad part."""
        t = text.strip()
        if t == "all":
            return cls()
        if t.isdigit():
            if not 1 <= int(t) <= MAX_CLIENTS:
                raise InputError(f"a count must be 1..{MAX_CLIENTS}, got {t}", field="clients")
            return cls(count=int(t))
        names = [n.strip() for n in t.split(",")]
        for n in names:
            if not _is_host(n):
                raise InputError(
                    f"expected all, a count, or HOST[,HOST...] (hostnames or IP addresses), got {n!r}",
                    field="clients",
                )
        return cls(hosts=tuple(dict.fromkeys(names)))

    def select(self, nodes: list[dict[str, Any]]) -> list[ClientNode]:
        """The chosen nodes among ``ray.nodes()``; InputError when too few live ones match."""
        alive = sorted(
            (
                ClientNode(host=n["NodeManagerHostname"], ip=n["NodeManagerAddress"], node_id=n["NodeID"])
                for n in nodes
                if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0
            ),
            key=lambda c: (c.host, c.ip, c.node_id),
        )
        if not alive:
            raise InputError("the Ray cluster has no live node with CPUs", field="ray_address")
        if self.hosts:
            chosen: list[ClientNode] = []
            for name in self.hosts:
                match = [c for c in alive if name in (c.host, c.ip)]
                if not match:
                    known = ", ".join(sorted({c.host for c in alive} | {c.ip for c in alive}))
                    raise InputError(f"no live Ray node is {name!r} (live: {known})", field="clients")
                chosen += [c for c in match if c not in chosen]
            return chosen
        if self.count is not None and self.count > len(alive):
            raise InputError(
                f"asked for {self.count} clients; the Ray cluster has {len(alive)} live nodes with CPUs",
                field="clients",
            )
        return alive[: self.count] if self.count is not None else alive


@dataclass(frozen=True, kw_only=True)
class BenchHosts:
    """Where a benchmark runs: this host (no ``address``), or the client nodes of the Ray cluster at
    ``address``, all at once. The sort runs on a Ray started for the run, or on every node of that cluster.
    Checked once, here; every benchmark takes it as ``on=``.

    Example: ``BenchHosts(address="10.0.0.1:6379", clients=Clients.parse("8"), storage_nodes=180)``.
    """

    address: str | None = None
    """An existing Ray cluster, ``HOST:PORT`` or ``ray://HOST:PORT`` (--ray-address)."""
    clients: Clients | None = None
    """With ``address``: the nodes io, meta and kvcache run on (--clients); None: every live node with
    CPUs."""
    storage_nodes: int | None = None
    """Storage nodes of the 3FS cluster: the published aggregate read is scaled to them (--storage-nodes)."""
    timeout: float = 30.0
    """Seconds ``address`` may take to answer (--ray-timeout)."""

    def __post_init__(self) -> None:
        check_ray_timeout(self.timeout)
        if self.storage_nodes is not None and not 1 <= self.storage_nodes <= MAX_STORAGE_NODES:
            raise InputError(
                f"must be 1..{MAX_STORAGE_NODES}, got {self.storage_nodes}", field="storage_nodes"
            )
        if self.address is None:
            if self.clients is not None:
                raise InputError("--clients needs --ray-address (a Ray cluster)", field="clients")
        else:
            ray_endpoint(self.address)

    @classmethod
    def from_options(
        cls,
        ray_address: str | None,
        clients: str | None = None,
        storage_nodes: int | None = None,
        ray_timeout: float = 30.0,
    ) -> BenchHosts:
        """From the command line's --ray-address, --clients (``all|N|HOSTS``), --storage-nodes and
        --ray-timeout."""
        return cls(
            address=ray_address,
            clients=None if clients is None else Clients.parse(clients),
            storage_nodes=storage_nodes,
            timeout=ray_timeout,
        )

    def cluster_address(self) -> str:
        """``address``, or InputError where there is none (a run on client nodes needs one)."""
        if self.address is None:
            raise InputError(
                "running on client nodes needs a Ray cluster (--ray-address)", field="ray_address"
            )
        return self.address


def _is_host(name: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name)
        return True
    return len(name) <= 253 and HOSTNAME.fullmatch(name) is not None


@dataclass(frozen=True)
class ClientDone(Generic[R]):
    """One client's record, with its start and end (seconds since the epoch, by its node's clock)."""

    node: ClientNode
    started: float
    ended: float
    result: R


class _Barrier:
    """Released when ``n`` jobs have arrived (a Ray async actor)."""

    def __init__(self, n: int) -> None:
        import asyncio

        self.n, self.arrived, self.go = n, 0, asyncio.Event()

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.n:
            self.go.set()
        await self.go.wait()


def _client_job(barrier: Any, work: Callable[[], R]) -> tuple[float, float, R]:
    """What runs on each node: wait at the barrier, then the workload, timed by the node's clock."""
    import ray

    ray.get(barrier.arrive.remote())
    started = time.time()
    result = work()
    return started, time.time(), result


def require_ray() -> Any:
    """The ``ray`` module, or InputError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "running on every client needs Ray, which is not installed", hint='pip install "fireflyer[bench]"'
        ) from None
    return ray


def run_on_clients(
    work: Callable[[], R], *, on: BenchHosts, progress: Progress | None = None
) -> list[ClientDone[R]]:
    """``work()`` once on each chosen node (``on.clients``) of the Ray cluster at ``on.address``, all started
    together; the records in the nodes' order (``Clients.select``). ``work`` must pickle (a module-level
    function or a ``functools.partial`` of one), and every node must have fireflyer installed and see the
    same paths.

    Example: ``run_on_clients(partial(measure_io, "/mnt/3fs", IoJob()),
    on=BenchHosts(address="10.0.0.1:6379"))``.
    """
    on.cluster_address()  # NOTE: no cluster: refused before Ray is imported
    ray = require_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    with (
        tempfile.TemporaryDirectory(prefix="flyer-clients-") as logs,
        ray_session(ray, on, Path(logs)) as cluster,
    ):
        nodes = (on.clients or Clients()).select(ray.nodes())
        barrier = ray.remote(_Barrier).options(num_cpus=0).remote(len(nodes))
        job = ray.remote(_client_job)
        refs = {
            job.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(n.node_id, soft=False),
                num_cpus=0,
                max_retries=0,
            ).remote(barrier, work): n
            for n in nodes
        }
        done = _collect(ray, refs, progress, cluster)
    order = {n.node_id: i for i, n in enumerate(nodes)}
    return sorted(done, key=lambda d: order[d.node.node_id])


def _collect(
    ray: Any, refs: dict[Any, ClientNode], progress: Progress | None, cluster: RayCluster
) -> list[ClientDone[Any]]:
    pending, done = dict(refs), []
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                node = pending.pop(ref)
                try:
                    started, ended, result = ray.get(ref)
                except ray.exceptions.RayError as e:
                    raise _failure(ray, node, e) from None
                done.append(ClientDone(node, started, ended, result))
            if progress:
                progress(f"{len(done)} of {len(refs)} clients done", len(done) / len(refs))
    finally:
        if pending:
            with cluster.quiet():
                _cancel(ray, list(pending))
    return done


def _failure(ray: Any, node: ClientNode, e: Exception) -> FireflyerError:
    label = f"client node {node.host} ({node.ip}, node id {node.node_id})"
    if isinstance(e, ray.exceptions.RayTaskError):
        cause = e.cause
        if isinstance(cause, FireflyerError):
            message = f"on {label}: {cause.message}"
            return type(cause)(message, file=cause.file, field=cause.field, hint=cause.hint)
        return CheckFailed(f"the job on {label} failed: {last_line(e)}")
    if isinstance(e, ray.exceptions.NodeDiedError):
        return CheckFailed(f"{label} died mid-run")
    first = str(e).strip().split(". ")[0].splitlines()[0] if str(e).strip() else ""
    return CheckFailed(f"{label} stopped mid-run ({type(e).__name__}): {first or 'no message'}")


def _cancel(ray: Any, refs: list[Any]) -> None:
    """Cancel the other jobs and give them CANCEL_WAIT seconds to stop fio and remove their files."""
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=False)
    with contextlib.suppress(Exception):
        ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT)
