"""docs/img: every picture the README embeds is there, and docs/img/make.sh (which draws the --plot ones of
eplb, kernels, inference and fs3) runs the README's own command lines, as written."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
MAKE = (REPO / "docs" / "img" / "make.sh").read_text()


def _commands(text: str) -> list[str]:
    """Each line that runs flyer, without its comment or its `|| ...` (an exit status allowed)."""
    lines = (re.split(r"\s+(?:#|\|\|)\s", line.strip())[0] for line in text.splitlines())
    return [line for line in lines if line.startswith("flyer ")]


def test_every_embedded_picture_is_committed():
    embedded = re.findall(r"!\[[^\]]*\]\((docs/img/[^)]+)\)", README)
    assert embedded
    missing = [p for p in embedded if not (REPO / p).is_file()]
    assert not missing, missing


def test_make_runs_the_readme_commands_as_written_and_writes_what_the_readme_embeds():
    readme = set(_commands(README))
    cmds = _commands(MAKE)
    assert len(cmds) >= 9 and [c for c in cmds if c not in readme] == []
    written = re.findall(r"\S+:([a-z0-9-]+)", MAKE.split("for pair in", 1)[1].split(";", 1)[0])
    assert len(written) == 9
    for name in written:
        assert f"(docs/img/{name}.png)" in README, name
