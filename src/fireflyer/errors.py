"""The library's typed errors. The CLI boundary turns each into one line and an exit code."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


class FireflyerError(Exception):
    """Base of every error the library raises on purpose.

    ``exit_code`` is what ``flyer`` exits with; ``hint`` is what to do next.
    """

    exit_code = 2

    def __init__(
        self, message: str, *, file: str | None = None, field: str | None = None, hint: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}: "
        if self.field:
            where += f"{self.field}: "
        line = f"{where}{self.message}"
        if self.hint:
            line += f" ({self.hint})"
        return line


@contextlib.contextmanager
def about_file(file: str | os.PathLike | None, *fields: str) -> Iterator[None]:
    """Name ``file`` in InputErrors raised inside the block that name none (and, given ``fields``, concern one
    of them): the loader read a file, the core found a bad value in what was read."""
    try:
        yield
    except FireflyerError as e:
        if file is not None and e.file is None and (not fields or e.field in fields):
            e.file = os.fspath(file)
        raise


class InputError(FireflyerError, ValueError):
    """Bad usage or bad input: a file, a field or an argument is not what was expected (exit 2)."""

    exit_code = 2


class CheckFailed(FireflyerError):
    """A check the user asked for failed: threshold, regression, validation (exit 1)."""

    exit_code = 1


class Busy(FireflyerError):
    """Another run holds the lock this run needs; nothing was touched (exit 75, EX_TEMPFAIL)."""

    exit_code = 75
