"""`flyer profiles detect`: this machine, measured by the compiled core.

The CPU roofline is two numbers: sustained memory bandwidth (a STREAM triad over arrays far larger
than the last-level cache, on every available core) and peak FP32 FLOP rate (an FMA-bound loop
vectorised for the host). Both are best of several runs. The result is a valid hardware profile.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from .schema import DetectedGpu, HardwareProfile, HostInfo, PeakTflops

MiB = 1 << 20
GiB = 1 << 30
Progress = Callable[..., None]


def _llc_bytes() -> int:
    """Size of one last-level cache instance (sysfs first: sysconf can report a whole package)."""
    best = 0
    for idx in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (idx / "type").read_text().strip() == "Instruction":
                continue
            size = (idx / "size").read_text().strip()
        except OSError:
            continue
        m = re.match(r"(\d+)([KMG]?)", size)
        if m:
            best = max(best, int(m.group(1)) * {"": 1, "K": 1 << 10, "M": MiB, "G": GiB}[m.group(2)])
    if best:
        return best
    try:
        return max(int(os.sysconf("SC_LEVEL3_CACHE_SIZE")), 0) or 32 * MiB
    except (ValueError, OSError, AttributeError):
        return 32 * MiB


def available_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return psutil.cpu_count(logical=True) or 1


def cpu_model() -> tuple[str, str]:
    """(model name, vendor) of the CPU."""
    model, vendor = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model") and not model:
                model = value.strip()
            elif key in ("vendor_id", "CPU implementer") and not vendor:
                vendor = value.strip()
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    vendor = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "0x41": "arm"}.get(vendor, vendor.lower() or "unknown")
    return model, vendor


def measure_triad(array_bytes: int, threads: int, runs: int) -> float:
    """Best sustained triad bandwidth in GB/s (each pass moves 3 arrays: 24 bytes per element)."""
    from .. import _core

    n = max(array_bytes // 8, 1024)
    seconds = _core.probe.stream_triad(n, threads, runs + 1)[1:]  # the first pass also faults pages in
    return 24.0 * n / min(seconds) / 1e9


def measure_fma(threads: int, runs: int, seconds_per_run: float) -> float:
    """Best FP32 FMA rate in GFLOP/s; the pass length is calibrated to ``seconds_per_run``."""
    from .. import _core

    iters = 200_000
    while True:  # calibrate on one thread-pass
        flops, secs = _core.probe.fma_peak(iters, threads, 1)[0]
        if secs >= seconds_per_run / 4 or iters > 1 << 36:
            break
        iters *= 4
    iters = max(int(iters * seconds_per_run / max(secs, 1e-9)), 1000)
    return max(f / s for f, s in _core.probe.fma_peak(iters, threads, runs)) / 1e9


def detect_gpus() -> list[DetectedGpu]:
    """CUDA GPUs through torch, matched to shipped hardware profiles. Empty without a CUDA device."""
    if not (Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia").exists()):
        return []  # NOTE: skip importing torch (seconds) when no NVIDIA driver is present
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    from .loader import match_gpu

    gpus = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        match = match_gpu(p.name)
        gpus.append(DetectedGpu(index=i, device_name=p.name, memory_gib=round(p.total_memory / GiB, 2),
                                sm_count=p.multi_processor_count, profile=match.name if match else None))
    return gpus


def detect(*, quick: bool = False, threads: int | None = None, name: str | None = None,
           progress: Progress | None = None) -> HardwareProfile:
    """Measure this machine and return it as a hardware profile (``measured: true``).

    ``quick`` trades accuracy for time (about 1 s instead of about 5 s on 2 cores).
    ``progress(n, description=...)`` is called as the stages advance (5 steps in all).
    """
    from .. import _core

    step = progress or (lambda *a, **k: None)
    threads = threads or available_threads()
    llc = _llc_bytes()
    avail = psutil.virtual_memory().available
    if quick:
        array_bytes, triad_runs, fma_runs, fma_secs = max(4 * llc, 64 * MiB), 4, 3, 0.08
    else:
        array_bytes, triad_runs, fma_runs, fma_secs = max(8 * llc, 256 * MiB), 20, 5, 0.3
    array_bytes = int(min(array_bytes, avail // 8))

    step(0, description="host")
    model_name, vendor = cpu_model()
    vm = psutil.virtual_memory()
    step(1, description="memory bandwidth (triad)")
    t0 = time.perf_counter()
    gbps = measure_triad(array_bytes, threads, triad_runs)
    step(1, description="FP32 FMA rate")
    gflops = measure_fma(threads, fma_runs, fma_secs)
    step(1, description="GPUs")
    gpus = detect_gpus()
    step(1, description="done")
    elapsed = time.perf_counter() - t0

    host = socket.gethostname().split(".")[0].lower()
    host = re.sub(r"[^a-z0-9._-]+", "-", host).strip("-") or "host"
    mib = array_bytes / MiB
    return HardwareProfile(
        name=name or f"{host}-cpu",
        description=f"{model_name}, measured by flyer profiles detect ({'quick' if quick else 'full'}, {elapsed:.1f} s)",
        vendor=vendor,
        memory_gib=round(vm.total / GiB, 2),
        hbm_gbps=round(gbps, 2),
        peak_tflops=PeakTflops(fp32=round(gflops / 1000, 4)),
        measured=True,
        sources={
            "hbm_gbps": f"measured: STREAM triad a = b + s*c, 3 float64 arrays of {mib:.0f} MiB, "
                        f"{threads} threads, best of {triad_runs} passes, 24 bytes per element",
            "peak_tflops.fp32": f"measured: FP32 FMA loop ({_core.probe.isa()}), {threads} threads, "
                                f"best of {fma_runs} passes",
        },
        host=HostInfo(cpu_model=model_name, physical_cores=psutil.cpu_count(logical=False) or threads,
                      logical_cores=psutil.cpu_count(logical=True) or threads, threads_used=threads,
                      memory_gib=round(vm.total / GiB, 2), isa=_core.probe.isa(),
                      triad_array_mib=round(mib, 1), triad_runs=triad_runs, fma_runs=fma_runs, gpus=gpus),
    )
