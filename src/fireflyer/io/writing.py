"""Files out, for every group: deterministic JSON, atomic writes of one file (temp file, fsync, rename) and
of several (``atomic_dir``: a temporary folder moved into place whole), and the checks that an output
replaces no input of the same command and no other output."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from ..errors import InputError


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
    raw = msgspec.json.encode(obj, enc_hook=_enc_hook, order="sorted")
    if indent:
        raw = msgspec.json.format(raw, indent=indent)
    return raw.decode() + "\n"


def check_outputs(
    outputs: Iterable[str | os.PathLike | None], inputs: Iterable[str | os.PathLike | None] = ()
) -> None:
    """Refuse outputs that would replace one of the command's inputs, or each other (same file, any
    spelling, links resolved). An input that is a directory (a statistics folder) stands for every file in
    it: an output that would replace an existing file under it is refused too."""

    def key(p: str | os.PathLike) -> str:
        return os.path.realpath(os.path.expanduser(os.fspath(p)))

    seen: dict[str, str] = {}
    ins = {key(p): os.fspath(p) for p in inputs if p is not None}
    dirs = {k: v for k, v in ins.items() if os.path.isdir(k)}
    for p in outputs:
        if p is None:
            continue
        k = key(p)
        if k in ins:
            raise InputError(
                f"output would replace the input {ins[k]}", file=os.fspath(p), hint="write to another file"
            )
        for d, given in dirs.items():
            if os.path.lexists(k) and os.path.commonpath([d, k]) == d:
                raise InputError(
                    f"output would replace a file of the input directory {given}",
                    file=os.fspath(p),
                    hint="write outside it",
                )
        if k in seen:
            raise InputError(f"two outputs of this command are the same file ({seen[k]})", file=os.fspath(p))
        seen[k] = os.fspath(p)


def atomic_write(path: str | os.PathLike, data: bytes | str, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.

    A symbolic link is followed: its target is replaced and the link stays. The bytes go to a temporary
    file in the target's directory, are fsynced, and replace the target with one rename; the directory
    is fsynced so the rename survives a crash. A failure at any step leaves the previous file untouched,
    removes the temporary file and raises InputError naming the file (a full disk, a file-size limit, a
    read-only or special destination).
    """
    if isinstance(data, str):
        data = data.encode()
    with atomic_writer(path, mode=mode) as fh:
        fh.write(data)
    return Path(path).expanduser()


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, *, mode: int | None = None) -> Iterator[BinaryIO]:
    """``atomic_write`` for output too large to hold in memory: yields a binary file to write to, which
    replaces ``path`` (temp file, fsync, rename) when the block ends without an exception."""
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as fh:
        yield fh


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, mode: int | None = None) -> Iterator[Path]:
    """``atomic_write`` for a writer that takes a path (a profiler's export, a library's ``save``): yields a
    temporary path in the target's directory; when the block ends without an exception, the file written
    there is fsynced and replaces ``path`` with one rename. On failure the temporary file is removed."""
    given = Path(path).expanduser()
    target = Path(os.path.realpath(given))
    parent = target.parent
    if not parent.is_dir():
        raise InputError("directory does not exist", file=str(given), hint="create it first")
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror}", file=str(given)) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InputError("cannot write: not a regular file", file=str(given))
    if mode is None:
        if st is not None:
            mode = st.st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as e:
        raise InputError(f"cannot create a file in {parent}: {e.strerror}", file=str(given)) from None
    try:
        yield Path(tmp)
        _fsync(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise InputError(f"cannot write: {e.strerror or e}", file=str(given)) from None
        raise
    _fsync_dir(parent)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A multi-file output that appears whole or not at all: yields an empty temporary folder beside
    ``path``; when the block ends without an exception, every file written there is fsynced and moved into
    ``path`` (created if missing; a file already there of the same name is replaced, other files are left
    alone). On failure, or on an interrupt, the temporary folder is removed and ``path`` is as it was."""
    given = Path(path).expanduser()
    target = Path(os.path.realpath(given))
    parent = target.parent
    if not parent.is_dir():
        raise InputError("directory does not exist", file=str(given.parent), hint="create it first")
    if target.exists() and not target.is_dir():
        raise InputError("expected a directory to write into, found a file", file=str(given))
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as e:
        raise InputError(f"cannot create a folder in {parent}: {e.strerror}", file=str(given)) from None
    try:
        yield tmp
        _fsync_tree(tmp)
        if not target.exists():
            os.rename(tmp, target)
        else:
            _check_merge(tmp, target)
            _merge_into(tmp, target)
            shutil.rmtree(tmp)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise InputError(f"cannot write: {e.strerror or e}", file=str(given)) from None
        raise
    _fsync_dir(parent)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _fsync(path: str | os.PathLike) -> None:
    # NOTE: fsync before rename, or a crash can leave an empty file under the final name.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            _fsync(os.path.join(dirpath, f))
        _fsync_dir(Path(dirpath))


def _check_merge(src: Path, dst: Path) -> None:
    """Refuse, before anything moves, a merge that would stop half-way: a folder of ``src`` where ``dst``
    has a file, or a file where it has a folder."""
    for entry in sorted(src.iterdir()):
        there = dst / entry.name
        is_dir = there.is_dir() and not there.is_symlink()
        if entry.is_dir() and not entry.is_symlink():
            if is_dir:
                _check_merge(entry, there)
            elif there.exists() or there.is_symlink():
                raise InputError("expected a directory, found a file", file=str(there))
        elif is_dir:
            raise InputError("expected a file, found a directory", file=str(there))


def _merge_into(src: Path, dst: Path) -> None:
    """Move every entry of ``src`` into ``dst``: files replace files by rename, folders merge."""
    for entry in sorted(src.iterdir()):
        there = dst / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if there.is_dir() and not there.is_symlink():
                _merge_into(entry, there)
                continue
            if there.exists() or there.is_symlink():
                raise InputError("expected a directory, found a file", file=str(there))
        os.replace(entry, there)
    _fsync_dir(dst)
