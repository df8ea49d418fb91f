"""`flyer profiles detect`: this machine, measured by the compiled core (``fireflyer._core.profiles``).

The CPU roofline is two numbers: sustained memory bandwidth (a STREAM triad over arrays several times
larger than the cache the measuring threads can use, on every available core) and peak FP32 FLOP rate (an
FMA-bound loop vectorised for the host). Both are the best of several passes, summarised by the shared
timing protocol. The result is a valid hardware profile.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from .. import host, io
from .._core import profiles as _core
from ..errors import InputError
from ..timing import Timing
from .loader import load_file, match_gpu, to_yaml
from .schema import DetectedGpu, HardwareProfile, HostInfo, Name, PeakTflops

Progress = Callable[..., None]
MAX_ARRAY_BYTES = 1 << 30
"""No triad array larger than this: past it the figure no longer changes, only the time does."""


def triad_array_bytes(threads: int, *, quick: bool) -> tuple[int, str]:
    """Bytes per triad array, and why: the three arrays together are 4x (quick) or 8x (full) the cache the
    threads can use, at least 16 MiB each, at most 1 GiB each and at most an eighth of free memory each."""
    usable, why = host.usable_cache_bytes(threads)
    factor = 4 if quick else 8
    want = max(factor * usable // 3, 16 * host.MiB)
    size = min(want, MAX_ARRAY_BYTES, host.memory_available() // 8)
    note = f"3 arrays = {factor}x the {usable / host.MiB:.0f} MiB of cache {threads} threads can use ({why})"
    if size < want:
        note += f"; cut to {size / host.MiB:.0f} MiB each by " + (
            "the 1 GiB cap" if size == MAX_ARRAY_BYTES else "the memory available"
        )
    return int(size), note


def measure_triad(array_bytes: int, threads: int, runs: int) -> Timing:
    """Seconds per triad pass (each pass moves 3 arrays: 24 bytes per element); the first pass, which
    faults the pages in, is not kept."""
    n = max(array_bytes // 8, 1024)
    seconds = _core.stream_triad(n, threads, runs + 1)[1:]
    return Timing(tuple(seconds), warmup=1, device="cpu")


def measure_fma(threads: int, runs: int, seconds_per_run: float) -> tuple[Timing, float]:
    """Seconds per FMA pass and the FLOPs of one pass; the pass length is calibrated to
    ``seconds_per_run``."""
    iters = 200_000
    while True:  # calibrate on one thread-pass
        flops, secs = _core.fma_peak(iters, threads, 1)[0]
        if secs >= seconds_per_run / 4 or iters > 1 << 36:
            break
        iters *= 4
    iters = max(int(iters * seconds_per_run / max(secs, 1e-9)), 1000)
    passes = _core.fma_peak(iters, threads, runs)
    return Timing(tuple(s for _, s in passes), warmup=1, device="cpu"), passes[0][0]


def detect_gpus() -> list[DetectedGpu]:
    """CUDA GPUs, matched to hardware profiles. Empty without a CUDA device."""
    out = []
    for g in host.gpus():
        match = match_gpu(g.name)
        out.append(
            DetectedGpu(
                index=g.index,
                device_name=g.name,
                memory_gib=g.memory_gib,
                sm_count=g.sm_count,
                profile=match.name if match else None,
            )
        )
    return out


def check_name(name: str) -> str:
    """A profile name as the schema accepts it, checked before measuring."""
    try:
        msgspec.convert(name, Name)
    except msgspec.ValidationError:
        raise InputError(
            f"{name!r} is not a valid profile name: letters, digits, '.', '_' and '-', starting "
            "with a letter or digit",
            field="name",
        ) from None
    return name


def detect(
    *,
    quick: bool = False,
    threads: int | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> HardwareProfile:
    """Measure this machine and return it as a hardware profile (``measured: true``).

    ``quick`` trades accuracy for time (about 1 s instead of about 3 s on 2 cores; see the README).
    ``progress(n, description=...)`` is called as the stages advance (4 steps in all).
    """
    step = progress or (lambda *a, **k: None)
    name = check_name(name or f"{host.hostname()}-cpu")
    threads = threads or host.threads_available()
    if quick:
        triad_runs, fma_runs, fma_secs = 5, 3, 0.08
    else:
        triad_runs, fma_runs, fma_secs = 20, 5, 0.3
    array_bytes, sizing = triad_array_bytes(threads, quick=quick)

    step(0, description="host")
    model_name, vendor = host.cpu_model()
    t0 = time.perf_counter()
    step(1, description="memory bandwidth (triad)")
    triad = measure_triad(array_bytes, threads, triad_runs)
    n = max(array_bytes // 8, 1024)
    gbps = 24.0 * n / triad.best / 1e9
    step(1, description="FP32 FMA rate")
    fma, flops = measure_fma(threads, fma_runs, fma_secs)
    gflops = flops / fma.best / 1e9
    step(1, description="GPUs")
    gpus = detect_gpus()
    step(1, description="done")
    elapsed = time.perf_counter() - t0

    mib = array_bytes / host.MiB
    mem = round(host.memory_total() / host.GiB, 2)
    return HardwareProfile(
        name=name,
        description=f"{model_name}, measured by flyer profiles detect "
        f"({'quick' if quick else 'full'}, {elapsed:.1f} s)",
        vendor=vendor,
        memory_gib=mem,
        hbm_gbps=round(gbps, 2),
        peak_tflops=PeakTflops(fp32=round(gflops / 1000, 4)),
        measured=True,
        sources={
            "hbm_gbps": f"measured: STREAM triad a = b + s*c, 3 float64 arrays of {mib:.0f} MiB, "
            f"{threads} threads, best of {triad_runs} passes (median {24.0 * n / triad.median / 1e9:.1f} "
            "GB/s), 24 bytes per element",
            "peak_tflops.fp32": f"measured: FP32 FMA loop ({_core.isa()}), {threads} threads, "
            f"best of {fma_runs} passes",
        },
        host=HostInfo(
            cpu_model=model_name,
            physical_cores=host.physical_cores(),
            logical_cores=host.logical_cores(),
            threads_used=threads,
            memory_gib=mem,
            isa=_core.isa(),
            triad_array_mib=round(mib, 1),
            triad_runs=triad_runs,
            fma_runs=fma_runs,
            gpus=gpus,
            triad_sizing=sizing,
        ),
    )


def cache_dir() -> Path:
    """Where fireflyer caches what it measured: ``$XDG_CACHE_HOME/fireflyer`` (default ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fireflyer"


def cached_profile_path() -> Path:
    """The cache file of this machine's measured profile, keyed by host name, CPU model and threads."""
    model = re.sub(r"[^a-z0-9]+", "-", host.cpu_model()[0].lower()).strip("-")[:60] or "cpu"
    return cache_dir() / "profiles" / f"{host.hostname()}-{model}-{host.threads_available()}t.yaml"


def detect_cached(*, quick: bool = True, refresh: bool = False) -> tuple[HardwareProfile, Path, bool]:
    """This machine's measured profile, measured once and cached: (profile, cache file, measured now).

    A cache file that is missing, unreadable or not a measured hardware profile is measured again;
    ``refresh`` measures again regardless. The file is written atomically, so concurrent runs never read
    half a profile.
    """
    path = cached_profile_path()
    if not refresh and path.is_file():
        try:
            prof = load_file(path)
        except InputError:
            prof = None
        if isinstance(prof, HardwareProfile) and prof.measured:
            return prof, path, False
    prof = detect(quick=quick)
    path.parent.mkdir(parents=True, exist_ok=True)
    io.atomic_write(path, to_yaml(prof))
    return prof, path, True
