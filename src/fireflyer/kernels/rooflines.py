"""The roof each result is measured against: the device's peak FLOP rate and memory (or link) bandwidth.

A GPU's roof is its shipped hardware profile, matched by the CUDA device name. A CPU's roof is this
machine's measured profile (`flyer profiles detect --quick`), measured once and cached under
``$XDG_CACHE_HOME/fireflyer/profiles/``, its figures raised by every later measurement with the cases'
own protocol (warm-up, then 30 samples; the best kept) and never lowered. A result above 100% of a GPU's
roof is a bug (in the kernel's figures or the formula) and fails the run; a measured CPU roof is only a
lower bound of the machine (other work on the cores lowers it), so a result above it is measured again and
then reported, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from .. import host, io, profiles
from ..profiles import detection
from ..timing import SAMPLES, WARMUP

FMA_SECONDS = 0.02
"""Length of one FMA sample: 30 of them span about what one case's samples do on a 2-core CPU."""


@dataclass(frozen=True)
class Roof:
    name: str
    """The hardware profile's name."""
    peak_tflops: dict[str, float]
    """Dense peak TFLOP/s by data type (a measured CPU has fp32 only)."""
    memory_gbps: float
    link_gbps: float | None
    """What expert-parallel traffic crosses, one direction: NVLink (one node), RDMA (several), or memory
    (CPU ranks on one machine)."""
    link: str | None
    source: str
    fresh: bool = False
    """Measured during this run (not read from the cache)."""
    enforced: bool = True
    """A result above this roof fails the run (a published GPU peak); False for a measured CPU roof, a
    lower bound of the machine: a result above it is reported."""

    def peak(self, dtype: str) -> float | None:
        return self.peak_tflops.get(dtype)

    def higher(self, other: Roof) -> Roof:
        """Each figure the higher of two measurements of one machine: a measured peak is a lower bound of
        the machine's (other work on the cores only ever lowers it)."""
        peaks = {
            k: max(self.peak_tflops.get(k, 0.0), other.peak_tflops.get(k, 0.0))
            for k in {*self.peak_tflops, *other.peak_tflops}
        }
        link = max(self.link_gbps or 0.0, other.link_gbps or 0.0) or None
        return Roof(
            name=other.name,
            peak_tflops=peaks,
            memory_gbps=max(self.memory_gbps, other.memory_gbps),
            link_gbps=link,
            link=other.link,
            source=f"the higher figures of two measurements ({self.source}; {other.source})",
            fresh=True,
            enforced=self.enforced and other.enforced,
        )

    def to_dict(self) -> dict:
        return {
            "profile": self.name,
            "peak_tflops": dict(sorted(self.peak_tflops.items())),
            "memory_gbps": self.memory_gbps,
            "link_gbps": self.link_gbps,
            "link": self.link,
            "source": self.source,
            "enforced": self.enforced,
        }


def _peaks(prof: profiles.HardwareProfile) -> dict[str, float]:
    return {k: v for k, v in profiles.to_dict(prof)["peak_tflops"].items() if v is not None}


def measure_cpu(threads: int) -> tuple[float, float, dict[str, str]]:
    """This machine's FP32 TFLOP/s and triad GB/s by the cases' protocol: the core's FMA loop and STREAM
    triad, each ``WARMUP`` passes then ``SAMPLES`` samples, the best kept (a roof is an upper bound)."""
    array_bytes, sizing = detection.triad_array_bytes(threads, quick=True)
    triad = detection.measure_triad(array_bytes, threads, WARMUP - 1 + SAMPLES)
    gbps = 24.0 * max(array_bytes // 8, 1024) / min(triad.samples[WARMUP - 1 :]) / 1e9
    fma, flops = detection.measure_fma(threads, WARMUP + SAMPLES, FMA_SECONDS)
    tflops = flops / min(fma.samples[WARMUP:]) / 1e12
    how = f"{threads} threads, best of {SAMPLES} samples after {WARMUP} warm-up (the cases' protocol)"
    return (
        tflops,
        gbps,
        {
            "hbm_gbps": f"measured: STREAM triad ({sizing}), {how}",
            "peak_tflops.fp32": f"measured: FP32 FMA loop, {how}",
        },
    )


def raise_cached(prof: profiles.HardwareProfile, tflops: float, gbps: float, sources: dict[str, str]):
    """The profile with each figure raised to a new measurement where that is higher, never lowered."""
    peaks = prof.peak_tflops
    if tflops > (peaks.fp32 or 0.0):
        peaks = msgspec.structs.replace(peaks, fp32=round(tflops, 4))
    new_sources = dict(prof.sources)
    if tflops > (prof.peak_tflops.fp32 or 0.0):
        new_sources["peak_tflops.fp32"] = sources["peak_tflops.fp32"]
    if gbps > prof.hbm_gbps:
        new_sources["hbm_gbps"] = sources["hbm_gbps"]
    return msgspec.structs.replace(
        prof, peak_tflops=peaks, hbm_gbps=max(prof.hbm_gbps, round(gbps, 2)), sources=new_sources
    )


def for_cpu(*, refresh: bool = False) -> Roof:
    """This machine's measured roof: the cached profile (``flyer profiles detect --quick`` the first time),
    raised by a measurement with the cases' protocol when it is first made and whenever ``refresh`` asks;
    the cache keeps the highest figure ever measured here."""
    prof, path, fresh = profiles.detect_cached(quick=True)
    if fresh or refresh:
        raised = raise_cached(prof, *measure_cpu(host.threads_available()))
        if raised != prof:
            io.atomic_write(path, profiles.to_yaml(raised))
        prof = raised
    how = "measured now" if fresh or refresh else "measured earlier"
    return Roof(
        name=prof.name,
        peak_tflops=_peaks(prof),
        memory_gbps=prof.hbm_gbps,
        link_gbps=prof.hbm_gbps,
        link="memory (ranks on one machine exchange through memory)",
        source=f"{how}, the highest figures measured on this machine, cached in {path}",
        fresh=fresh or refresh,
        enforced=False,
    )


def for_gpu(device_name: str, *, nodes: int = 1) -> Roof | None:
    """The shipped profile matching a CUDA device name; None for a GPU no profile describes."""
    prof = profiles.match_gpu(device_name)
    if prof is None:
        return None
    if nodes > 1:
        link, gbps = "RDMA", prof.rdma_gbps
    else:
        link, gbps = "NVLink, one direction", prof.nvlink_gbps / 2 if prof.nvlink_gbps else None
    return Roof(
        name=prof.name,
        peak_tflops=_peaks(prof),
        memory_gbps=prof.hbm_gbps,
        link_gbps=gbps,
        link=link if gbps else None,
        source=f"shipped hardware profile {prof.name} (matched {device_name!r})",
    )
