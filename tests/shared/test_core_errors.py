"""Bad input found by the compiled core arrives as fireflyer.errors.InputError, naming the field (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

from fireflyer import _core, host
from fireflyer.errors import InputError


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: _core.pipeline.generate("dualpipe", 3, 8), "ranks"),
        (lambda: _core.pipeline.generate("1f1b", 4, 1 << 30), "microbatches"),
        (lambda: _core.pipeline.generate("nope", 4, 8), "schedule"),
        (lambda: _core.profiles.fma_peak(10, 1 << 20, 1), "threads"),
        (lambda: _core.pipeline.check_times(*(np.array([v]) for v in (1.0, 2.0, 3.0, 3.0)), 0.0), "w-time"),
    ],
)
def test_core_raises_input_error_with_field(call, field):
    with pytest.raises(InputError) as e:
        call()
    assert e.value.field == field and e.value.exit_code == 2
    assert str(e.value).startswith(f"{field}: ")


def test_core_refuses_what_memory_cannot_hold():
    ranks = 1000
    microbatches = int(2 * host.memory_available() / (96 * 3 * ranks)) + 1  # twice what memory holds
    if 3 * ranks * microbatches >= 2e9:
        pytest.skip("this machine has more memory than the simulator's op indices can use")
    with pytest.raises(InputError, match="GiB of memory") as e:
        _core.pipeline.generate("1f1b", ranks, microbatches)
    assert e.value.field == "microbatches"
    with pytest.raises(InputError, match="32-bit"):
        _core.pipeline.generate("zb1p", 1 << 16, 1 << 24)
