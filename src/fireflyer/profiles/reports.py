"""What `flyer profiles` reports, as records: the catalogue, one profile shown, files validated."""

from __future__ import annotations

import os
from collections.abc import Iterable

from msgspec import Struct

from ..errors import InputError
from .loader import catalog, find, load_file
from .schema import Profile


class _Record(Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Listed(_Record):
    """One profile of `flyer profiles list`."""

    name: str
    kind: str
    origin: str
    """shipped, user or FLYER_PROFILES."""
    path: str
    description: str
    overrides: list[str]
    """The files of the same name this one hides (a user profile over a shipped one)."""


class Shown(_Record):
    """`flyer profiles show`: the profile and the file it came from."""

    profile: Profile
    path: str
    origin: str
    overrides: list[str]

    @property
    def kind(self) -> str:
        return str(type(self.profile).__struct_config__.tag)


class FileCheck(_Record):
    """One file of `flyer profiles validate`."""

    file: str
    ok: bool
    name: str | None
    kind: str | None
    error: str | None
    """The first error, naming the field; None when the file is valid."""


class Validation(_Record):
    """`flyer profiles validate`: every file checked."""

    ok: bool
    files: list[FileCheck]


def listing(kind: str | None = None) -> tuple[list[Listed], list[InputError]]:
    """Every profile found (of one kind, if given), and the files that failed validation."""
    rows, problems = catalog(kind)
    return [
        Listed(
            name=e.name,
            kind=e.kind,
            origin=e.origin,
            path=str(e.path),
            description=getattr(e.profile, "description", ""),
            overrides=[str(s) for s in e.shadows],
        )
        for e in rows
    ], problems


def shown(name: str) -> Shown:
    """The profile called ``name`` (or with that alias) and where it came from."""
    e = find(name)
    return Shown(profile=e.profile, path=str(e.path), origin=e.origin, overrides=[str(s) for s in e.shadows])


def validate(files: Iterable[str | os.PathLike], *, keep_going: bool = True) -> Validation:
    """Check each file against the schema; without ``keep_going`` the first error is raised."""
    checks = []
    for f in files:
        try:
            prof = load_file(f)
        except InputError as e:
            if not keep_going:
                raise
            checks.append(FileCheck(file=str(f), ok=False, name=None, kind=None, error=e.one_line()))
            continue
        kind = type(prof).__struct_config__.tag
        checks.append(FileCheck(file=str(f), ok=True, name=prof.name, kind=str(kind), error=None))
    return Validation(ok=all(c.ok for c in checks), files=checks)
