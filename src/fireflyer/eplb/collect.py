"""``flyer eplb collect``: a load file from a running SGLang server, for cron.

SGLang (0.5.23, ``srt/entrypoints/http_server.py``) records which experts its tokens are routed to between
``/start_expert_distribution_record`` and ``/stop_expert_distribution_record`` (GET or POST, 200 with a line
of text), and ``/dump_expert_distribution_record`` makes rank 0 ``torch.save`` the counts as
``expert_distribution_recorder_{time}.pt`` in ``SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR`` (``stat`` modes:
one file, counts all-reduced over ranks). ``collect`` drives those three over HTTP, waits the window, picks
up the one dump that appeared in the directory it shares with the server (new since the start, whole,
readable) and moves it to the load file.

It asks ``/server_info`` first and refuses, without touching the recorder: a server that is not SGLang; one
started without ``--expert-distribution-recorder-mode`` (NOTE: SGLang's scheduler raises on a start request
then, and a scheduler exception takes the whole server down); a mode other than ``stat``/``stat_approx``
(per-rank files); one with ``--enable-eplb`` (its own rebalancer records all the time, and a start would
reset it). Two collects against one dump directory would reset each other's window: a lock in the directory
refuses the second (exit 75).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from .. import profiles
from ..errors import Busy, CheckFailed, InputError
from ..io import atomic_writer, check_outputs
from .formats import Loads, read_loads

RECORDER_MODES = ("stat", "stat_approx")
"""The recorder modes whose dump is one file of all ranks' counts (``per_pass``/``per_token`` write one per
rank)."""
DUMP_NAME = re.compile(r"expert_distribution_recorder_[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?\.pt")
"""The name SGLang's ``_dump_to_file`` gives a stat-mode dump (``f"...{time.time()}.pt"``)."""
URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")
"""A server's base URL: scheme, host, port and path only (no credentials, query or fragment)."""
API_KEY_ENV = "FLYER_SGLANG_API_KEY"
"""SGLang's --api-key/--admin-api-key, sent as a Bearer token where set (never on the command line)."""
REQUESTS_METRIC = "sglang:num_requests_total"
DEFAULT_TOP_K = 8
"""Experts per token where no --model says: DeepSeek-V3's."""


class CollectResult(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What ``flyer eplb collect`` fetched (``--json``): from which server, over which window, how much."""

    server: str
    version: str
    """SGLang's version, from ``/server_info``."""
    mode: str
    """The server's ``--expert-distribution-recorder-mode``."""
    started: str
    """When recording started (UTC, ISO 8601)."""
    seconds: float
    """The window: start to stop, as this machine's clock measured it."""
    requests: int | None
    """Requests the server finished in the window (``--requests``: from its /metrics), else None."""
    tokens: int
    """Tokens routed to experts in the window: the largest count of any MoE layer, over its top-k."""
    top_k: int
    layers: int
    experts: int
    dump: str
    """The file the server wrote (moved to ``load``)."""
    load: str
    message: str = ""

    def line(self) -> str:
        return (
            f"collected {self.tokens} tokens in {self.seconds:.1f} s from "
            f"{self.server} (SGLang {self.version}, {self.mode}) into {self.load}"
        )


class _Server:
    """SGLang's HTTP API through httpx: a timeout on every request, connect errors retried."""

    def __init__(self, url: str, timeout: float, retries: int):
        import httpx

        if not URL.fullmatch(url):
            raise InputError(
                f"expected http(s)://HOST[:PORT][/PATH], got {url!r}", field="server", hint="no query or user"
            )
        self.url = url.rstrip("/")
        key = os.environ.get(API_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers=headers,
            transport=httpx.HTTPTransport(retries=retries),  # NOTE: retries connect failures only
            follow_redirects=False,
        )
        self.timeout = timeout

    def call(self, method: str, path: str, *, timeout: float | None = None) -> Any:
        import httpx

        try:
            r = self.http.request(method, path, timeout=timeout or self.timeout)
        except httpx.TimeoutException:
            raise CheckFailed(
                f"{method} {path} got no answer in {timeout or self.timeout:g} s", file=self.url
            ) from None
        except httpx.HTTPError as e:
            raise InputError(f"cannot reach the server ({e})", file=self.url, hint="is it running?") from None
        if r.status_code in (401, 403):
            raise InputError(
                f"{path} answered {r.status_code}: the server wants an API key",
                file=self.url,
                hint=f"set {API_KEY_ENV} to its --api-key or --admin-api-key",
            )
        return r

    def close(self) -> None:
        self.http.close()


def server_info(server: _Server) -> dict[str, Any]:
    """``/server_info`` (``/get_server_info`` before SGLang renamed it), checked to be SGLang's."""
    for path in ("/server_info", "/get_server_info"):
        r = server.call("GET", path)
        if r.status_code != 404:
            break
    try:
        info = r.json() if r.status_code == 200 else None
    except ValueError:
        info = None
    if not isinstance(info, dict) or "expert_distribution_recorder_mode" not in info or "version" not in info:
        raise InputError(
            f"not an SGLang server: {path} answered {r.status_code} without SGLang's server arguments",
            file=server.url,
        )
    return info


def check_recorder(info: dict[str, Any], url: str) -> str:
    """The server's recorder mode, where ``collect`` can drive it; else InputError saying what to change."""
    mode = info.get("expert_distribution_recorder_mode")
    if mode is None:
        raise InputError(
            "the server records no expert distribution (no --expert-distribution-recorder-mode); nothing "
            "was sent to it, as SGLang's scheduler would stop on a start request",
            file=url,
            hint="restart it with --expert-distribution-recorder-mode stat",
        )
    if mode not in RECORDER_MODES:
        raise InputError(
            f"the recorder mode is {mode}, which dumps one file per rank; collect reads stat dumps",
            file=url,
            hint="start the server with --expert-distribution-recorder-mode stat",
        )
    if info.get("enable_eplb"):
        raise InputError(
            "the server is recording already: --enable-eplb runs SGLang's own rebalancer on the recorder, "
            "and a start request would reset its window",
            file=url,
            hint="collect from a server without --enable-eplb",
        )
    return str(mode)


def requests_done(server: _Server) -> int:
    """Requests the server has finished, from its Prometheus ``/metrics`` (``--enable-metrics``)."""
    r = server.call("GET", "/metrics")
    if r.status_code != 200:
        raise InputError(
            f"/metrics answered {r.status_code}: --requests counts the server's finished requests there",
            file=server.url,
            hint="start it with --enable-metrics, or give --seconds",
        )
    total, seen = 0.0, False
    for line in r.text.splitlines():
        if line.startswith(REQUESTS_METRIC + "{") or line.startswith(REQUESTS_METRIC + " "):
            with contextlib.suppress(ValueError, IndexError):
                total += float(line.rsplit(" ", 1)[1])
                seen = True
    if not seen:
        raise InputError(f"/metrics has no {REQUESTS_METRIC}", file=server.url, hint="give --seconds")
    return int(total)


def _dumps(d: Path) -> dict[str, os.stat_result]:
    out = {}
    with contextlib.suppress(FileNotFoundError):
        for e in os.scandir(d):
            if DUMP_NAME.fullmatch(e.name):
                with contextlib.suppress(OSError):
                    out[e.name] = e.stat(follow_symlinks=False)
    return out


POLL_S = 0.2
SKEW_S = 120.0
"""How far the file server's clock may lag this machine's before a dump's time says it is old."""


def wait_for_dump(d: Path, before: set[str], since: float, limit_s: float) -> tuple[Path, Loads]:
    """The one dump that appears in ``d`` after ``since`` (not among ``before``), once whole: its size held
    for a poll and it reads as a load. CheckFailed when none is whole within ``limit_s``."""
    deadline = time.monotonic() + limit_s
    last: dict[str, int] = {}
    why = "no new expert_distribution_recorder_*.pt appeared"
    while True:
        fresh = {n: st for n, st in _dumps(d).items() if n not in before and st.st_mtime >= since - SKEW_S}
        if len(fresh) > 1:
            raise Busy(
                f"{len(fresh)} dumps appeared during this window: another client is driving the recorder",
                file=str(d),
                hint="retry on the next run",
            )
        for name, st in fresh.items():
            if last.get(name) == st.st_size and st.st_size > 0:
                try:
                    return d / name, read_loads(d / name)
                except InputError as e:
                    why = f"{name} is not whole yet ({e.message})"
            last = {name: st.st_size}
        if time.monotonic() >= deadline:
            raise CheckFailed(
                f"no whole dump within {limit_s:g} s of /dump_expert_distribution_record: {why}",
                file=str(d),
                hint="is it the server's SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR, shared with this machine?",
            )
        time.sleep(POLL_S)


def move(src: Path, dst: Path) -> None:
    """Move the dump to the load file: one rename on the same file system, else an atomic copy and unlink."""
    target = Path(os.path.realpath(dst))
    try:
        os.replace(src, target)
    except OSError:
        with open(src, "rb") as fh, atomic_writer(dst) as out:
            shutil.copyfileobj(fh, out)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(src)
        return
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # NOTE: the rename survives a crash
    finally:
        os.close(fd)


@contextlib.contextmanager
def dump_lock(d: Path) -> Iterator[None]:
    """One collect at a time per dump directory (a second would reset the first one's window)."""
    from .cron import plan_lock  # NOTE: here, as cron imports this module

    with plan_lock(d / "expert_distribution_recorder", holder="flyer eplb collect"):
        yield


class CollectJob(msgspec.Struct, frozen=True, kw_only=True):
    """``collect``'s arguments but the load file: what ``rebalance --collect-from`` collects."""

    server: str
    dump_dir: str
    seconds: float | None = None
    requests: int | None = None
    max_seconds: float = 3600.0
    model: str | None = None
    timeout: float = 10.0
    dump_timeout: float = 120.0

    def run(self, out: str | Path, progress: Callable[..., None] | None = None) -> CollectResult:
        return collect(**msgspec.structs.asdict(self), out=out, progress=progress)


def beside(plan: str | Path) -> Path:
    """Where ``rebalance --collect-from`` keeps the load it collected, without ``--load``: beside the plan."""
    p = Path(plan)
    return p.with_name(f"{p.stem}.load.pt")


def collect(
    server: str,
    dump_dir: str | Path,
    out: str | Path,
    *,
    seconds: float | None = None,
    requests: int | None = None,
    max_seconds: float = 3600.0,
    model: str | None = None,
    timeout: float = 10.0,
    dump_timeout: float = 120.0,
    retries: int = 2,
    progress: Callable[..., None] | None = None,
) -> CollectResult:
    """Record ``seconds`` (or until ``requests`` more requests finished, at most ``max_seconds``) on an SGLang
    server, dump, and move the dump from ``dump_dir`` to ``out`` (a .pt load file).

    ``model``: the profile whose experts per token give the token count (default: DeepSeek-V3's 8);
    ``timeout``: each HTTP request; ``dump_timeout``: the dump request and the wait for its file."""
    if (seconds is None) == (requests is None):
        raise InputError("give one of --seconds and --requests", field="seconds")
    d, dst = Path(dump_dir), Path(out)
    if not d.is_dir():
        raise InputError("not a directory", file=str(d), field="dump-dir")
    if dst.suffix != ".pt":
        raise InputError("the load file is the server's dump: name it *.pt", file=str(dst), field="out")
    check_outputs([dst], [])
    top_k = profiles.model(model).experts_per_token if model else DEFAULT_TOP_K
    srv = _Server(server, timeout, retries)
    try:
        with dump_lock(d):
            info = server_info(srv)
            mode = check_recorder(info, srv.url)
            base = requests_done(srv) if requests is not None else None
            before = set(_dumps(d))
            started, t0 = time.time(), time.monotonic()
            _expect(srv, "/start_expert_distribution_record")
            done = _wait(srv, t0, seconds, requests, base, max_seconds, progress)
            _expect(srv, "/stop_expert_distribution_record")
            window = time.monotonic() - t0
            _expect(srv, "/dump_expert_distribution_record", timeout=dump_timeout)
            dump, loads = wait_for_dump(d, before, started, dump_timeout)
            move(dump, dst)
    finally:
        srv.close()
    raw = loads.counts.sum(axis=1)
    r = CollectResult(
        server=srv.url,
        version=str(info.get("version")),
        mode=mode,
        started=datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(timespec="seconds"),
        seconds=round(window, 3),
        requests=done,
        tokens=int(raw.max() // top_k) if raw.size else 0,
        top_k=top_k,
        layers=int(loads.counts.shape[0]),
        experts=int(loads.counts.shape[1]),
        dump=str(dump),
        load=str(dst),
    )
    r.message = r.line()
    return r


def _expect(srv: _Server, path: str, *, timeout: float | None = None) -> None:
    r = srv.call("POST", path, timeout=timeout)
    if r.status_code != 200:
        body = " ".join(r.text.split())[:160]
        raise InputError(f"{path} answered {r.status_code}: {body}", file=srv.url)


def _wait(
    srv: _Server,
    t0: float,
    seconds: float | None,
    requests: int | None,
    base: int | None,
    max_seconds: float,
    progress: Callable[..., None] | None,
) -> int | None:
    """Sleep through the window; with ``requests``, poll /metrics each second until that many finished."""
    limit = seconds if seconds is not None else max_seconds
    done = None
    while (left := limit - (time.monotonic() - t0)) > 0:
        if requests is not None and base is not None:
            done = requests_done(srv) - base
            if done >= requests:
                break
        time.sleep(min(left, 1.0 if requests is not None else 0.5))
        if progress:
            progress(description=f"recording {time.monotonic() - t0:.0f}/{limit:g} s")
    return done
