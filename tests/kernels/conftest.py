"""Shared fixtures of the kernel tests: a cached CPU roof, so no test measures this machine."""

from __future__ import annotations

import pytest

from fireflyer import profiles
from fireflyer.io import atomic_write


def write_roof(cache_home, *, fp32_tflops: float = 1000.0, gbps: float = 100000.0) -> None:
    """A measured CPU profile in the cache `flyer kernels bench` reads its roof from."""
    prof = profiles.HardwareProfile(
        name="test-cpu",
        vendor="test",
        memory_gib=1.0,
        hbm_gbps=gbps,
        peak_tflops=profiles.PeakTflops(fp32=fp32_tflops),
        sources={"hbm_gbps": "test", "peak_tflops.fp32": "test"},
        measured=True,
    )
    path = profiles.cached_profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, profiles.to_yaml(prof))


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """XDG_CACHE_HOME in a temporary directory holding a generous measured roof."""
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    write_roof(home)
    return home
