"""File helpers shared by every command: atomic writes and deterministic JSON."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from .errors import InputError

_json_encoder = msgspec.json.Encoder(order="deterministic")


def to_builtins(obj: Any) -> Any:
    """Structs, dataclasses, numpy and torch scalars and arrays -> plain JSON-able values."""
    return msgspec.to_builtins(obj, order="deterministic", enc_hook=_enc_hook)


def _enc_hook(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__} as JSON")


def dumps_json(obj: Any, *, indent: int = 2) -> str:
    """Deterministic JSON: sorted keys, fixed float formatting, trailing newline."""
    raw = msgspec.json.encode(obj, enc_hook=_enc_hook, order="deterministic")
    if indent:
        raw = msgspec.json.format(raw, indent=indent)
    return raw.decode() + "\n"


def atomic_write(path: str | os.PathLike, data: bytes | str, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.

    The bytes go to a temporary file in the target directory, are fsynced, and replace the target
    with one rename; the directory is fsynced so the rename survives a crash. A failure at any step
    leaves the previous file untouched and removes the temporary file.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("directory does not exist", file=str(path), hint="create it first")
    if isinstance(data, str):
        data = data.encode()
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            # NOTE: fsync before rename, or a crash can leave an empty file under the final name.
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path


def read_bytes(path: str | os.PathLike, *, what: str = "file") -> bytes:
    """Read a whole input file; a missing, unreadable or empty file is an InputError naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=str(p)) from None
    except IsADirectoryError:
        raise InputError(f"expected a {what}, found a directory", file=str(p)) from None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", file=str(p)) from None
    if not data.strip():
        raise InputError(f"{what} is empty", file=str(p))
    return data
