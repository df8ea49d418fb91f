"""Files in, for every group: the one reader (regular files under a cap per kind), JSON and YAML documents
whose errors name the file and the field, and typed conversion through msgspec schemas."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

from ..errors import InputError
from ..units import GiB, MiB, format_size

T = TypeVar("T")
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings an input document may have."""

MAX_BYTES = 256 * MiB
"""Default size cap of an input file; a kind with its own cap passes ``limit`` (see ``LIMITS``)."""

LIMITS = {
    "profile": 1 * MiB,
    "suite": 1 * MiB,
    "cluster": 16 * MiB,
    "key": 1 * MiB,
    "known_hosts": 64 * MiB,
    "password": 64 * 1024,
    "listing": 64 * MiB,
    "document": MAX_BYTES,
    "load": 4 * GiB,
    "plan": 1 * GiB,
    "trace": 64 * GiB,
}
"""Size caps per kind of input, in bytes: far above any real file of the kind, far below what would
exhaust the memory of the machine reading it."""

MAX_VALUES = 1_000_000
"""Values a YAML document may expand to through aliases beyond 16 per byte of its text (a 1 KB "billion
laughs" document is refused at once, a file that reuses a block through an anchor is not)."""


def check_regular(path: str | os.PathLike, *, what: str = "file", limit: int | None = None) -> os.stat_result:
    """Refuse anything but a regular file (a link is followed to what it names): a FIFO would block the
    reader forever, a device such as /dev/zero would be read until memory runs out. With ``limit``, refuse a
    file larger than that many bytes. Returns the file's stat."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=p) from None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror or e}", file=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"expected a {what}, found a directory", file=p)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"expected a {what}, found {_kind_of(st.st_mode)}", file=p, hint="give a regular file"
        )
    if limit is not None and st.st_size > limit:
        raise InputError(
            f"{what} is {format_size(st.st_size)}, over the {format_size(limit)} a {what} may have", file=p
        )
    return st


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something that is not a regular file"


def read_bytes(path: str | os.PathLike, *, what: str = "file", limit: int = MAX_BYTES) -> bytes:
    """Read a whole input file: a regular file of at most ``limit`` bytes (``LIMITS`` has the caps per
    kind); a missing, special, oversized, unreadable or empty file is an InputError naming it."""
    p = os.fspath(path)
    check_regular(p, what=what, limit=limit)
    try:
        # NOTE: O_NONBLOCK: a FIFO swapped in after the check must not block the open.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror or e}", file=p) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"expected a {what}, found {_kind_of(st.st_mode)}", file=p)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 16 * MiB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror or e}", file=p) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputError(f"{what} is over the {format_size(limit)} a {what} may have", file=p)
    if not data.strip():
        raise InputError(f"{what} is empty", file=p)
    return data


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML's safe loader, refusing a key that appears twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise InputError(
                        f"duplicate key {key!r} (lines {seen[key] + 1} and {key_node.start_mark.line + 1})"
                    )
                seen[key] = key_node.start_mark.line
            except TypeError:  # unhashable keys: YAML's own error says so below
                pass
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise InputError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_document(data: bytes | str, *, file: str, fmt: str) -> Any:
    """Parse JSON (``fmt="json"``) or YAML (``"yaml"``) text, then check it (``check_document``)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text (byte {e.start})", file=file) from None
    else:
        text = data
    try:
        if fmt == "json":
            obj = json.loads(
                text, object_pairs_hook=_no_duplicates
            )  # NaN and Infinity: refused below, by path
        elif fmt == "yaml":
            obj = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader
            _check_expansion(obj, limit=max(MAX_VALUES, 16 * len(text)))
        else:
            raise ValueError(fmt)
    except InputError as e:
        raise InputError(e.message, file=file) from None
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}", file=file) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(
            f"not valid YAML: {getattr(e, 'problem', None) or 'parse error'}{where}", file=file
        ) from None
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=file) from None
    check_document(obj, file=file)
    return obj


def _check_expansion(obj: Any, *, limit: int) -> None:
    """Refuse a YAML document whose aliases expand it past ``limit`` values, or make it contain itself.

    YAML's loader shares one object for every alias of an anchor, so the document is small in memory, but
    every walk of it as a tree (ours, msgspec's, a caller's) visits each alias's values again: nine levels
    of ten aliases are 10**9 values from 1 KB of text. The expanded size is counted once per distinct
    object (memoised by identity), in time linear in the document's text.
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    # Iterative post-order: (node, children pushed yet?)
    stack: list[tuple[Any, bool]] = [(obj, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        if done:
            children = node.values() if isinstance(node, dict) else node
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            if total > limit:
                raise InputError(
                    f"aliases expand the document past {limit:,} values (YAML anchors and *refs)"
                )
            sizes[key] = total
            open_.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_:
            raise InputError("the document contains itself (a YAML alias inside its own anchor)")
        open_.add(key)
        stack.append((node, True))
        children = node.values() if isinstance(node, dict) else node
        # NOTE: nodes still open are the ancestors of what is walked next: meeting one again is a cycle.
        stack.extend((c, False) for c in children if isinstance(c, (dict, list)))


def check_document(obj: Any, *, file: str | None = None) -> None:
    """Refuse NaN and infinite numbers and nesting deeper than MAX_DEPTH; the error names the field."""
    stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=file)
        if isinstance(node, float):
            if not math.isfinite(node):
                raise InputError(
                    f"{node} is not a finite number; values must be finite", file=file, field=where or None
                )
        elif isinstance(node, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node))


def format_of(path: str | os.PathLike) -> str | None:
    """``json`` or ``yaml`` by file suffix, else None."""
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)


def load_document(
    path: str | os.PathLike, *, what: str = "file", fmt: str | None = None, limit: int = MAX_BYTES
) -> Any:
    """Read and parse one JSON or YAML file (by suffix unless ``fmt`` is given); errors name the file."""
    fmt = fmt or format_of(path)
    if fmt is None:
        raise InputError(f"expected a .json, .yaml or .yml {what}", file=str(path))
    data = read_bytes(path, what=what, limit=limit)
    return parse_document(data, file=str(path), fmt=fmt)


def convert(obj: Any, type_: type[T], *, file: str | None = None, field: str | None = None) -> T:
    """Validate plain data against a msgspec schema; the error names the file and the field's path."""
    try:
        return msgspec.convert(obj, type_, strict=True)
    except msgspec.ValidationError as e:
        msg, where = _split_validation_error(str(e))
        if field:
            where = f"{field}.{where}" if where else field
        raise InputError(msg, file=file, field=where) from None


def load_struct(path: str | os.PathLike, type_: type[T], *, what: str = "file", limit: int = MAX_BYTES) -> T:
    """``load_document`` then ``convert``: a typed object from a JSON or YAML file."""
    return convert(load_document(path, what=what, limit=limit), type_, file=str(path))


def _split_validation_error(text: str) -> tuple[str, str | None]:
    # msgspec: "Expected `int`, got `str` - at `$.mla.heads`" / "Object missing required field `x` - at
    # `$.mla`"
    m = re.match(r"^(.*?)(?: - at `\$(.*)`)?$", text, re.S)
    msg, path = (m.group(1), m.group(2)) if m else (text, None)
    path = (path or "").lstrip(".")
    named = re.search(r"(?:missing required field|unknown field) `([^`]+)`", msg)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    msg = msg.replace("Object missing required field", "missing required field")
    msg = msg.replace("Object contains unknown field", "unknown field")
    msg = re.sub(r"Expected `([^`]+)`, got `([^`]+)`", r"expected \1, got \2", msg)
    return msg, path or None
