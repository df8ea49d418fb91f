"""Which implementation of each operation can run here, and why not when it cannot.

Every operation has ``reference`` (torch, correctness first) and ``torch`` (the fastest stock torch path on
the device), and the vendor library that implements it on a GPU: ``flash_mla`` (FlashMLA), ``deep_gemm``
(DeepGEMM), ``deep_ep`` (DeepEP). A vendor backend is used when its module imports; its distribution and
version are reported, and a distribution other than the vendor's own (a repackaging) is flagged. A backend
that cannot run is listed with the reason, never replaced by another.

This module imports torch only to ask about a CUDA device, and a vendor module only when asked to load it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from msgspec import Struct

from ..errors import InputError
from .cases import OPS, Case, EpCase, MlaCase

GENERIC = ("reference", "torch")


@dataclass(frozen=True)
class Vendor:
    backend: str
    op: str
    module: str
    project: str
    distributions: tuple[str, ...]
    """The vendor's own distribution names; any other one providing the module is a repackaging."""
    archs: tuple[int, ...]
    """CUDA compute-capability majors the library has kernels for."""


VENDORS = {
    v.backend: v
    for v in (
        Vendor(
            "flash_mla",
            "mla",
            "flash_mla",
            "github.com/deepseek-ai/FlashMLA",
            ("flash_mla", "flash-mla"),
            (9, 10),
        ),
        Vendor(
            "deep_gemm",
            "gemm",
            "deep_gemm",
            "github.com/deepseek-ai/DeepGEMM",
            ("deep_gemm", "deep-gemm"),
            (9, 10),
        ),
        Vendor("deep_ep", "ep", "deep_ep", "github.com/deepseek-ai/DeepEP", ("deep_ep", "deep-ep"), (9, 10)),
    )
}
BACKENDS: dict[str, tuple[str, ...]] = {
    op: (*GENERIC, *(v.backend for v in VENDORS.values() if v.op == op)) for op in OPS
}


class Unsupported(Exception):
    """This backend cannot run this case here (the message says why); the case is skipped for it."""


LL_HIDDEN = (2048, 2560, 3072, 4096, 5120, 6144, 7168, 8192)
"""Hidden sizes DeepEP's low-latency kernels are compiled for (``SWITCH_HIDDEN`` in its kernels' launch.cuh);
any other aborts with ``Unsupported hidden``."""
SPARSE_HEADS = (64, 128)
"""Query heads FlashMLA's sparse decoding has kernels for (csrc/api/sparse_decode.h: ``Unsupported h_q``)."""
PAGE_BLOCK = 64
"""FlashMLA's dense decoding cache block size (csrc/api/dense_decode.h: ``page_block_size must be 64``)."""


def unsupported(case: Case, backend: str) -> str | None:
    """Why a vendor library refuses this case's shape, by the library's own checks, or None. Asked before the
    library is called, so the case is marked unsupported for that backend (the reference and torch may still
    run it) instead of the library's error ending the whole run."""
    if backend == "flash_mla" and isinstance(case, MlaCase):
        if case.mode == "sparse_fp8" and case.h_q not in SPARSE_HEADS:
            return f"FlashMLA's sparse decoding takes h_q 64 or 128, not {case.h_q}"
        if case.mode == "dense" and case.block_size != PAGE_BLOCK:
            return (
                f"FlashMLA's dense decoding takes cache blocks of {PAGE_BLOCK} tokens, not {case.block_size}"
            )
        if case.dv != 512 or case.d not in (512, 576):
            return f"FlashMLA decodes d 576 (or 512) with dv 512, not d {case.d}, dv {case.dv}"
    if backend == "deep_ep" and isinstance(case, EpCase):
        if case.mode == "low_latency" and case.hidden not in LL_HIDDEN:
            sizes = ", ".join(map(str, LL_HIDDEN))
            return f"DeepEP's low-latency kernels take hidden {sizes}; not {case.hidden}"
    return None


@dataclass(frozen=True)
class Availability:
    op: str
    backend: str
    available: bool
    reason: str | None = None
    version: str | None = None
    distribution: str | None = None
    unofficial: bool = False
    """The module comes from a distribution that is not the vendor's own (e.g. a registry repackaging)."""

    def to_dict(self) -> dict:
        return {
            "op": self.op,
            "backend": self.backend,
            "available": self.available,
            "reason": self.reason,
            "version": self.version,
            "distribution": self.distribution,
            "unofficial": self.unofficial,
        }


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Top-level module -> distributions: one scan of every installed package's metadata per process."""
    return dict(importlib.metadata.packages_distributions())


def installed(vendor: Vendor) -> tuple[bool, str | None, str | None]:
    """(installed, distribution, version) of a vendor module, without importing it."""
    if importlib.util.find_spec(vendor.module) is None:
        return False, None, None
    dists = _distributions().get(vendor.module, [])
    for dist in dists:
        try:
            return True, dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return True, None, None


@functools.cache
def load_vendor(backend: str) -> ModuleType:
    """Import a vendor module once; Unsupported with the reason when it is missing or fails to import."""
    vendor = VENDORS[backend]
    if importlib.util.find_spec(vendor.module) is None:
        raise Unsupported(f"{vendor.module} is not installed (build it from {vendor.project})")
    try:
        return importlib.import_module(vendor.module)
    except Exception as e:  # NOTE: vendor imports run CUDA and JIT set-up; any failure means unusable here
        raise Unsupported(f"import {vendor.module} failed: {type(e).__name__}: {e}") from None


def _cuda_arch(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    import torch  # NOTE: only for a CUDA device, which needs torch anyway

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_capability(torch.device(device))[0]


def availability(op: str, backend: str, device: str = "cpu") -> Availability:
    """Whether ``backend`` can run ``op`` on ``device`` ("cpu", "cuda" or "cuda:N"), and why not."""
    check_names([op], None)
    if backend not in BACKENDS[op]:
        raise InputError(
            f"unknown backend {backend!r} for {op}; expected one of {', '.join(BACKENDS[op])}",
            field="backend",
        )
    if backend in GENERIC:
        return Availability(op, backend, True)
    vendor = VENDORS[backend]
    found, dist, version = installed(vendor)
    unofficial = dist is not None and dist.lower().replace("_", "-") not in {
        d.replace("_", "-") for d in vendor.distributions
    }
    reason = _unavailable(backend, vendor, found, device)
    return Availability(
        op, backend, reason is None, reason, version=version, distribution=dist, unofficial=unofficial
    )


def _unavailable(backend: str, vendor: Vendor, found: bool, device: str) -> str | None:
    """Why an installed-or-not vendor ``backend`` cannot run on ``device``; None when it can."""
    if not found:
        return f"not installed (build it from {vendor.project})"
    if not device.startswith("cuda"):
        return f"needs a CUDA GPU; this run is on {device}"
    arch = _cuda_arch(device)
    if arch is None:
        return "no CUDA device is usable"
    if arch not in vendor.archs:
        archs = ", ".join(f"SM{a}0" for a in vendor.archs)
        return f"has kernels for {archs}; this GPU is SM{arch}x"
    try:
        load_vendor(backend)
    except Unsupported as e:
        return str(e)
    return None


class Catalog(Struct, kw_only=True, forbid_unknown_fields=True):
    """`flyer kernels list`: every (operation, backend) pair and whether it runs on ``device``."""

    device: str
    """``cpu`` or the CUDA device, e.g. ``cuda:0``."""
    backends: list[Availability]


def catalog(device: str = "cpu") -> list[Availability]:
    """Every (operation, backend) pair and whether it runs on ``device``."""
    return [availability(op, b, device) for op in OPS for b in BACKENDS[op]]


def catalog_on(device: str = "auto") -> Catalog:
    """The catalog on the device ``device`` chooses (``auto``: CUDA if present)."""
    from .. import device as devices

    dev = devices.choose(device)
    where = str(dev) if dev.type == "cuda" else "cpu"
    return Catalog(device=where, backends=catalog(where))


def check_names(ops: list[str] | None, backends: list[str] | None) -> None:
    """Refuse unknown operation or backend names (exit 2), before any work."""
    for op in ops or ():
        if op not in BACKENDS:
            raise InputError(f"unknown operation {op!r}; expected one of {', '.join(OPS)}", field="op")
    known = {b for names in BACKENDS.values() for b in names}
    for b in backends or ():
        if b not in known:
            raise InputError(
                f"unknown backend {b!r}; expected one of {', '.join(sorted(known))}", field="backend"
            )
