"""What the load and plan formats share: torch files read without unpickling objects, arrays of numbers,
and maps of slots to experts checked before anything is sized by them."""

from __future__ import annotations

import io as _io
import pickle
from typing import Any

import numpy as np

from ...errors import InputError
from ..solver import to_numpy


def torch_load(data: bytes, name: str) -> Any:
    import torch  # NOTE: only .pt files need torch

    try:
        return torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError("holds Python objects other than tensors, which are not loaded", file=name) from None
    except Exception as e:  # noqa: BLE001 - torch raises several types for damaged files
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise InputError(f"not a readable .pt file, truncated or damaged ({why})", file=name) from None


def numbers(val: Any, name: str, field: str) -> np.ndarray:
    try:
        arr = to_numpy(val)
    except (TypeError, ValueError) as e:
        raise InputError(f"expected an array of numbers ({e})", file=name, field=field) from None
    if arr.dtype.kind not in "iuf":
        raise InputError(f"expected numbers, got {arr.dtype}", file=name, field=field)
    return arr


def torch_bytes(obj: Any) -> bytes:
    import torch

    buf = _io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def slot_map(
    rows: Any, name: str, field: str = "physical_to_logical_map", *, padding: bool = False
) -> np.ndarray:
    """A map [layers][slots] of expert ids, each below the slot count (a layer holds at most as many experts
    as slots; a larger id would size every array indexed by expert), -1 allowed where ``padding`` (vLLM)."""
    try:
        p2l = to_numpy(rows)
    except (TypeError, ValueError):
        p2l = np.zeros(0)
    if p2l.dtype.kind not in "iu" or p2l.ndim != 2 or p2l.size == 0:
        raise InputError(
            f"expected a non-empty [layers][slots] array of integers, got shape {list(p2l.shape)}",
            file=name,
            field=field,
        )
    low = -1 if padding else 0
    bad = (p2l < low) | (p2l >= p2l.shape[1])
    if bad.any():
        raise InputError(
            f"names expert {int(p2l[bad][0])}; a map of {p2l.shape[1]} slots holds experts "
            f"0..{p2l.shape[1] - 1}{' (and -1 for an unused slot)' if padding else ''}",
            file=name,
            field=field,
        )
    return p2l.astype(np.int64)
