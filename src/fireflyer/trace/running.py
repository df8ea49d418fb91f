"""Running a job under ``flyer trace capture``: its environment (the settings in ``FLYER_TRACE_*`` variables,
``bootstrap/`` first on ``PYTHONPATH``; see ``capturing``), the job in a temporary folder moved into place
whole when it ends, and the record of the traces it wrote."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from ..errors import InputError
from ..io import atomic_dir
from .analysis import scan
from .capturing import BOOTSTRAP_DIR, ENV_PATH, Settings


class TraceFile(msgspec.Struct, kw_only=True):
    file: str
    rank: int | None
    steps: int
    bytes: int


class CaptureRun(msgspec.Struct, kw_only=True):
    command: list[str]
    exit_code: int
    out: str
    elapsed_s: float
    traces: list[TraceFile]
    problems: list[str]  # trace files that could not be read
    cycles: list[list[str]]  # per cycle: the paths `flyer trace analyze` reads as one run of the job


def environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The job's environment: ``base`` (default: ours) with the settings and the bootstrap on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    env.update(settings.environ())
    paths = [str(BOOTSTRAP_DIR), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[ENV_PATH] = str(Path(__file__).resolve().parents[2])
    return env


def run(command: Sequence[str], settings: Settings, *, stdout: Any = None) -> CaptureRun:
    """Run ``command`` with every Python process of it profiled; wait for it; list the traces it wrote.

    The job's output goes where ours does (``stdout`` redirects its standard output); its exit code is
    returned, a death by signal N as 128 + N, as shells report it. The job writes into a temporary folder
    beside ``settings.out``, moved into place when it ends: a job that cannot start leaves nothing behind,
    and neither does one that writes no trace (no empty folder).
    """
    command = list(command)
    if not command:
        raise InputError("expected a command to run", field="COMMAND")
    out = settings.out
    existed = out.exists()
    if existed and (not out.is_dir() or any(out.iterdir())):
        raise InputError(
            "already holds files" if out.is_dir() else "exists and is not a directory",
            file=str(out),
            hint="choose a new --out directory, so traces of different runs do not mix",
        )
    made = _make_parents(out)
    try:
        start = time.perf_counter()
        with atomic_dir(out) as tmp:
            code = _run_job(command, environment(dataclasses.replace(settings, out=tmp)), stdout)
        elapsed = time.perf_counter() - start
        if not existed and not any(out.iterdir()):
            out.rmdir()
            _remove_dirs(made)
    except BaseException:
        _remove_dirs(made)
        raise
    return CaptureRun(command=command, exit_code=code, out=str(out), elapsed_s=elapsed, **_written(out))


def _make_parents(out: Path) -> list[Path]:
    """Create the missing folders above ``out``; returns them, outermost first."""
    missing = []
    for p in out.absolute().parents:
        if p.exists():
            break
        missing.append(p)
    missing.reverse()
    made = []
    try:
        for p in missing:
            p.mkdir()
            made.append(p)
    except OSError as e:
        _remove_dirs(made)
        raise InputError(f"cannot create the folder {p}: {e.strerror or e}", file=str(out)) from None
    return made


def _remove_dirs(made: list[Path]) -> None:
    """Remove the folders ``_make_parents`` made, innermost first, where they are still empty."""
    for p in reversed(made):
        with contextlib.suppress(OSError):
            p.rmdir()


def _shown(arg: str, limit: int = 80) -> str:
    return arg if len(arg) <= limit else arg[: limit - 1] + "…"


def _run_job(command: list[str], env: dict[str, str], stdout: Any) -> int:
    """Start the job, wait for it, and return its exit code (128 + N for a death by signal N)."""
    try:
        proc = subprocess.Popen(command, env=env, stdout=stdout)
    except FileNotFoundError:
        raise InputError(f"command not found: {_shown(command[0])}", field="COMMAND") from None
    except OSError as e:  # not executable, a directory, a name or arguments too long, no memory to fork
        raise InputError(f"cannot run {_shown(command[0])}: {e.strerror or e}", field="COMMAND") from None
    interrupts = 0
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:  # the job got the signal too: let it end its way, unless asked again
            interrupts += 1
            if interrupts == 2:
                proc.terminate()
            elif interrupts > 2:
                proc.kill()
    if code < 0:
        code = 128 - code if -code in signal.valid_signals() else 1
    return code


def _written(out: Path) -> dict:
    files = sorted(p for p in out.rglob("*.json") if not p.name.startswith(".")) if out.is_dir() else []
    traces, problems, bad = [], [], set()
    for f in files:
        try:
            [fig] = scan([f], top=1)
        except InputError as e:
            problems.append(e.one_line())
            bad.add(f)
            continue
        h = fig.header
        traces.append(
            TraceFile(
                file=str(f), rank=h.rank if h.has_rank else None, steps=fig.steps, bytes=f.stat().st_size
            )
        )
    return {"traces": traces, "problems": problems, "cycles": _cycles(traces, bad)}


def _cycles(traces: list[TraceFile], bad: set[Path]) -> list[list[str]]:
    """Per folder of traces (the output folder, or each cycleC/ with --repeat): the folder itself where
    every trace file in it reads and claims a rank of its own, else its readable files, one per rank."""
    folders: dict[Path, list[TraceFile]] = {}
    for t in traces:
        folders.setdefault(Path(t.file).parent, []).append(t)
    out = []
    for folder, found in sorted(folders.items(), key=lambda kv: _cycle_key(kv[0])):
        ranks = [t.rank for t in found if t.rank is not None]
        if len(set(ranks)) == len(ranks) and not any(b.parent == folder for b in bad):
            out.append([str(folder)])
            continue
        seen: set[int] = set()
        paths = []
        for t in found:
            if t.rank not in seen:
                paths.append(t.file)
            if t.rank is not None:
                seen.add(t.rank)
        out.append(paths)
    return out


def _cycle_key(folder: Path) -> tuple:
    digits = folder.name.removeprefix("cycle")
    return (0, int(digits)) if digits.isdigit() else (1, 0)
