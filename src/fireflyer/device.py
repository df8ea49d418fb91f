"""The one place that chooses a torch device, describes it and checks that work fits on it.

Importing this module imports torch: only code that makes tensors imports it.
"""

from __future__ import annotations

import torch

from . import host
from .errors import InputError


def choose(spec: str = "auto") -> torch.device:
    """``auto`` (CUDA if present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; InputError when not usable."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(
                "no CUDA GPU is available on this machine", field="device", hint="use --device cpu"
            )
        dev = torch.device(spec)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"there is no {spec}: {torch.cuda.device_count()} CUDA devices", field="device")
        return dev
    raise InputError(f"unknown device {spec!r}; expected auto, cpu, cuda or cuda:N", field="device")


def describe(dev: torch.device) -> str:
    """``cuda (NVIDIA H200)`` or ``cpu (Intel Xeon ..., 2 threads)``."""
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({host.cpu_model()[0]}, {torch.get_num_threads()} threads)"


def distributed_backend(ranks: int) -> str:
    """The torch.distributed backend for ``ranks`` processes here: NCCL with a GPU per rank, else gloo."""
    return "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= ranks else "gloo"


def default_dtype(dev: torch.device) -> torch.dtype:
    """float32 on CPU, bfloat16 on GPU."""
    return torch.bfloat16 if dev.type == "cuda" else torch.float32


def check_fits(nbytes: float, dev: torch.device, what: str, *, field: str | None = None) -> None:
    """Refuse, before allocating, ``what`` needing more memory than ``dev`` has free."""
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        host.check_fits(nbytes, what, field=field, fraction=0.9, free=(str(dev), free))
    else:
        host.check_fits(nbytes, what, field=field)


def synchronize(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
