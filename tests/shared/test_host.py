"""Host facts (fireflyer.host) and the device choice (fireflyer.device)."""

from __future__ import annotations

import os

import pytest

from fireflyer import host
from fireflyer.errors import InputError


def test_cores_and_memory():
    assert host.threads_available() == len(os.sched_getaffinity(0))
    assert host.logical_cores() >= host.threads_available() >= 1
    assert host.memory_total() >= host.memory_available() > 0
    model, vendor = host.cpu_model()
    assert model and vendor


def test_usable_cache_is_capped_per_core():
    usable, why = host.usable_cache_bytes(2)
    data = [c for c in host.caches() if c.kind != "Instruction"]
    if data:
        last = max(c.level for c in data)
        private = sum(c.size_bytes for c in data if c.level < last)
        assert usable <= 2 * (private + host.MAX_L3_PER_CORE)
        assert f"L{last}" in why


def test_check_fits_refuses_more_than_memory():
    host.check_fits(1 << 20, "a small array")
    with pytest.raises(InputError, match="GiB of memory") as e:
        host.check_fits(10 * host.memory_total(), "a huge array", field="size")
    assert e.value.field == "size"


def test_check_fits_on_another_memory():
    host.check_fits(0.9 * host.GiB, "a block", fraction=0.9, free=("cuda:0", host.GiB))
    with pytest.raises(InputError, match=r"a block needs about 1 GiB; cuda:0 has 1 GiB free") as e:
        host.check_fits(host.GiB, "a block", field="hidden", fraction=0.9, free=("cuda:0", host.GiB))
    assert e.value.field == "hidden"


def test_hostname_is_safe_in_names():
    assert all(c.isalnum() or c in "._-" for c in host.hostname())


def test_device_choice():
    device = pytest.importorskip("fireflyer.device")
    import torch

    assert device.choose("cpu").type == "cpu"
    assert device.choose("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="unknown device"):
        device.choose("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            device.choose("cuda")
