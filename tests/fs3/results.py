"""A command's --json decoded, strictly, as the record ``RESULTS`` names for it (what ``flyer schema`` and
the generic schema test rely on)."""

from __future__ import annotations

import msgspec

from fireflyer.commands.fs3 import RESULTS


def decoded(command: str, stdout: str) -> object:
    """``stdout`` of ``flyer fs3 COMMAND --json`` as ``RESULTS[COMMAND]``; fails on any missing or extra key
    or wrong type."""
    return msgspec.json.decode(stdout, type=RESULTS[command], strict=True)
