"""fio as the I/O engine: the same job as the built-in engine, expressed as fio options, with fio's JSON
report read back. fio is Debian's ``fio`` package (``apt-get install fio``)."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ...errors import InputError

PR_SET_PDEATHSIG = 1
FIO_RW = {"seq-read": "read", "seq-write": "write", "rand-read": "randread", "rand-write": "randwrite"}


class _Latency(msgspec.Struct):
    mean: float = 0.0
    percentile: dict[str, float] = {}


class _Direction(msgspec.Struct):
    io_bytes: int = 0
    bw_bytes: float = 0.0
    iops: float = 0.0
    runtime: float = 0.0
    """milliseconds"""
    total_ios: int = 0
    lat_ns: _Latency = msgspec.field(default_factory=_Latency)


class _Job(msgspec.Struct):
    jobname: str = ""
    error: int = 0
    read: _Direction = msgspec.field(default_factory=_Direction)
    write: _Direction = msgspec.field(default_factory=_Direction)


class _Report(msgspec.Struct):
    version: str = msgspec.field(name="fio version", default="fio")
    jobs: list[_Job] = []


@dataclass(frozen=True)
class FioRun:
    """What fio reported for one group-reported job."""

    version: str
    bytes: int
    ops: int
    seconds: float
    bytes_per_s: float
    iops: float
    p50_us: float | None
    p99_us: float | None
    mean_us: float


@functools.cache
def fio_version() -> str | None:
    """fio's version (``fio-3.33``) when it is on PATH and runs, else None."""
    exe = shutil.which("fio")
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return res.stdout.strip() or None


def fio_args(
    directory: str | Path,
    *,
    pattern: str,
    file_bytes: int,
    block: int,
    jobs: int,
    iodepth: int,
    direct: bool,
    runtime: float = 0.0,
) -> list[str]:
    """fio's command line for the job the built-in engine runs: one file per job, libaio at ``iodepth``,
    caches dropped before reads (invalidate=1), write files started empty (no preallocation) and fsynced
    at the end, the runtime in milliseconds (fio drops fractions of a second)."""
    args = [
        "fio",
        "--output-format=json",
        "--eta=never",
        "--name=flyer",
        f"--directory={directory}",
        "--filename_format=fio.$jobnum.dat",
        f"--rw={FIO_RW[pattern]}",
        f"--bs={block}",
        f"--size={file_bytes}",
        f"--numjobs={jobs}",
        f"--iodepth={iodepth}",
        "--ioengine=libaio",
        f"--direct={int(direct)}",
        "--group_reporting=1",
        "--lat_percentiles=1",
        "--percentile_list=50:99",
        "--invalidate=1",
        "--fallocate=none",
    ]
    if pattern.endswith("write"):
        args.append("--end_fsync=1")
    if runtime > 0:
        args.append(f"--runtime={max(1, round(runtime * 1000))}ms")
    return args


def parse_fio_json(text: str, *, pattern: str, source: str = "fio") -> FioRun:
    """A FioRun from fio's ``--output-format=json`` report of a group-reported job (text fio prints before
    the document, such as warnings, is skipped)."""
    start = text.find("{")
    if start < 0:
        raise InputError("fio printed no JSON report", file=source)
    try:
        report = msgspec.json.decode(text[start:].encode(), type=_Report)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise InputError(f"fio's JSON report is not readable: {e}", file=source) from None
    if not report.jobs:
        raise InputError("fio's JSON report has no jobs", file=source)
    job = report.jobs[0]
    if job.error:
        raise InputError(f"fio's job failed with error {job.error}", file=source)
    d = job.write if pattern.endswith("write") else job.read
    if d.io_bytes <= 0 or d.runtime <= 0:
        raise InputError("fio's report shows no I/O", file=source)

    def pct(q: str) -> float | None:
        v = next((v for k, v in d.lat_ns.percentile.items() if float(k) == float(q)), None)
        return None if v is None else v / 1e3

    return FioRun(
        version=report.version,
        bytes=d.io_bytes,
        ops=d.total_ios,
        seconds=d.runtime / 1e3,
        bytes_per_s=d.bw_bytes,
        iops=d.iops,
        p50_us=pct("50"),
        p99_us=pct("99"),
        mean_us=d.lat_ns.mean / 1e3,
    )


def _stop_with_parent() -> None:
    """In fio's process before it starts: SIGTERM when the process that started it dies (a Ray worker
    killed with its node), so no fio outlives the run that wanted it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_fio(directory: Path, **job) -> FioRun:
    """Run fio on the job (see ``fio_args``) in ``directory``; its files stay for the caller to remove."""
    return run_fio_argv(fio_args(directory, **job), directory, pattern=job["pattern"])


def run_fio_argv(args: list[str], directory: Path, *, pattern: str) -> FioRun:
    """Run fio with ``args`` (``args[0]`` is ``fio``) in ``directory`` and read its JSON report; stopped
    (terminated, then killed) when the caller is interrupted."""
    if fio_version() is None:
        raise InputError("fio is not installed", hint="apt-get install fio, or use --engine builtin")
    args = [shutil.which("fio") or "fio", *args[1:]]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=directory,
        preexec_fn=_stop_with_parent,
    )
    try:
        out, err = proc.communicate()
    except BaseException:
        # NOTE: Ctrl-C reaches fio too (same process group); SIGTERM may not. Stop it before its files go.
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if proc.returncode != 0:
        last = (err.strip().splitlines() or ["(no message)"])[-1]
        raise InputError(f"fio failed (exit {proc.returncode}): {last}", file=str(directory))
    return parse_fio_json(out, pattern=pattern)
