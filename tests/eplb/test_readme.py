"""Every `flyer eplb` example in README.md runs as written, in order, from an empty folder with an empty home:
exit 0, or 1 where the line says `# exits 1`. In this process, so it is quick enough to run every time (the
README-wide test, tests/test_readme_examples.py, runs each line through the installed script and is slow)."""

from __future__ import annotations

import shlex

from tests.conftest import REPO
from tests.test_readme_examples import examples

from .helpers import cli


def eplb_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## flyer eplb\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_readme_eplb_examples_run_in_order(tmp_path, monkeypatch):
    runnable = [(cmd, want) for cmd, want, why in examples(eplb_section()) if not why]
    assert len(runnable) >= 15
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("FLYER_PROFILES", raising=False)
    for cmd, want in runnable:
        args = shlex.split(cmd.split(" #")[0])[1:]
        r = cli(*args)
        assert r.returncode == want, f"{cmd}: exit {r.returncode}, expected {want}: {r.stderr}"
        if "--json" in args:
            assert r.stdout.strip().startswith("{")
