"""systemd unit files, written as systemd reads them: command-line words quoted and escaped per
systemd.syntax(7) and systemd.service(5), sections of ``Key=value`` lines."""

from __future__ import annotations

import re

from .errors import InputError


def systemd_word(arg: str) -> str:
    r"""One word of a systemd command line (``ExecStart=``), as systemd.syntax and systemd.service read it:
    plain when it holds only safe characters, else in double quotes with ``\\`` and ``\"`` escaped; then
    ``%`` doubled (specifiers) and ``$`` doubled (environment variables). A control character (a newline
    would start a new directive) is refused: the cluster's patterns never let one through."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in arg):
        raise ValueError(f"a control character in a systemd command word: {arg!r}")
    if arg == ";":
        word = "\\;"  # a lone ; separates commands
    elif re.fullmatch(r"[A-Za-z0-9/._+@=:,%$-]+", arg):
        word = arg
    else:
        word = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word.replace("%", "%%").replace("$", "$$")


def command_line(argv: list[str], *, field: str = "command") -> str:
    """``ExecStart=``'s value for ``argv`` (an absolute program first); InputError on a control character."""
    if not argv or not argv[0].startswith("/"):
        raise InputError(f"a unit's program must be an absolute path, got {argv[:1]}", field=field)
    try:
        return " ".join(systemd_word(a) for a in argv)
    except ValueError as e:
        raise InputError(str(e), field=field) from None


def unit_file(sections: dict[str, dict[str, str]]) -> str:
    """A unit file of ``{section: {key: value}}``, in their order; values must not hold a line break."""
    for body in sections.values():
        for k, v in body.items():
            if "\n" in v or "\r" in v:
                raise InputError(f"a line break in {k}=", field=k)
    return "\n".join(
        f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in body.items()) for name, body in sections.items()
    )
