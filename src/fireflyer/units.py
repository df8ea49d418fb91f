"""Sizes in bytes, for every group: the binary units, and sizes read from and written for people.

``fireflyer.io`` re-exports these names, so ``io.parse_size`` and ``io.MiB`` keep working.
"""

from __future__ import annotations

import re

from .errors import InputError

KiB, MiB, GiB, TiB, PiB, EiB = (1 << (10 * i) for i in range(1, 7))

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    **{u: 1 << (10 * i) for i, u in enumerate(("k", "m", "g", "t", "p", "e"), 1)},
    **{f"{u}ib": 1 << (10 * i) for i, u in enumerate(("k", "m", "g", "t", "p", "e"), 1)},
    **{f"{u}b": 1000**i for i, u in enumerate(("k", "m", "g", "t", "p", "e"), 1)},
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.I)


def parse_size(text: str | int, *, field: str | None = None) -> int:
    """Bytes in a size such as ``4GiB``, ``1.5 MiB``, ``4k`` or ``4096``.

    Binary units as dd and fio read them: ``K``, ``M``, ``G``, ``T``, ``P``, ``E`` and ``KiB`` ... ``EiB``
    are powers of 1024; ``KB`` ... ``EB`` are powers of 1000. Case does not matter. The result must be a
    whole number of bytes; InputError naming ``field`` otherwise.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise InputError(f"expected a size of at least 0 bytes, got {text}", field=field)
        return text
    m = _SIZE.match(str(text))
    unit = _SIZE_UNITS.get(m.group(2).lower()) if m else None
    if m is None or unit is None:
        raise InputError(f"expected a size such as 4GiB, 512MiB, 4k or 4096, got {text!r}", field=field)
    number = m.group(1)
    whole, _, frac = number.partition(".")
    # NOTE: exact arithmetic: 1.5GiB is 1610612736 bytes, not a rounded float.
    value = int(whole or "0") * unit + int(frac or "0") * unit // 10 ** len(frac)
    if frac and int(frac) * unit % 10 ** len(frac):
        raise InputError(f"{text!r} is not a whole number of bytes", field=field)
    return value


def format_size(nbytes: float) -> str:
    """``4294967296`` -> ``4 GiB``; ``1536`` -> ``1.5 KiB`` (binary units, at most 4 significant digits)."""
    for unit, scale in (("EiB", EiB), ("PiB", PiB), ("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(nbytes) >= scale:
            return f"{nbytes / scale:.4g} {unit}"
    return f"{nbytes:g} B"


def parse_sysfs_size(text: str) -> int:
    """Bytes in a size as sysfs and /proc write it (``32K``, ``4096``); 0 where none is read."""
    m = re.match(r"(\d+)\s*([KMG]?)", text.strip())
    return int(m.group(1)) * {"": 1, "K": KiB, "M": MiB, "G": GiB}[m.group(2)] if m else 0
