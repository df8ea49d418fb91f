"""The roof each result is measured against: the device's peak FLOP rate and memory (or link) bandwidth.

A GPU's roof is its shipped hardware profile, matched by the CUDA device name. A CPU's roof is this
machine's measured profile (`flyer profiles detect --quick`), measured once and cached under
``$XDG_CACHE_HOME/fireflyer/profiles/``. A result above 100% of its roof is a bug (in the kernel's
figures, the formula, or a roof measured on a busy machine) and fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import profiles


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
        )

    def to_dict(self) -> dict:
        return {
            "profile": self.name,
            "peak_tflops": dict(sorted(self.peak_tflops.items())),
            "memory_gbps": self.memory_gbps,
            "link_gbps": self.link_gbps,
            "link": self.link,
            "source": self.source,
        }


def _peaks(prof: profiles.HardwareProfile) -> dict[str, float]:
    return {k: v for k, v in profiles.to_dict(prof)["peak_tflops"].items() if v is not None}


def for_cpu(*, refresh: bool = False, quick: bool = True) -> Roof:
    """This machine's measured roof (cached after the first measurement; ``refresh`` measures again)."""
    prof, path, fresh = profiles.detect_cached(quick=quick, refresh=refresh)
    how = "measured now" if fresh else "measured earlier"
    return Roof(
        name=prof.name,
        peak_tflops=_peaks(prof),
        memory_gbps=prof.hbm_gbps,
        link_gbps=prof.hbm_gbps,
        link="memory (ranks on one machine exchange through memory)",
        source=f"{how} by flyer profiles detect, cached in {path}",
        fresh=fresh,
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
