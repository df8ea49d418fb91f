"""Every `flyer eplb` example in README.md runs as written, in order, from an empty folder with an empty home:
exit 0, or 1 where the README says the example exits 1."""

from __future__ import annotations

import re
import shlex

from conftest import REPO

from .helpers import cli


def readme_examples(section: str = "## flyer eplb") -> list[tuple[list[str], int]]:
    text = (REPO / "README.md").read_text()
    start = text.index(section + "\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end > 0 else None]
    out = []
    for block in re.findall(r"```bash\n(.*?)```", body, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            cmd, _, comment = line.partition("#")
            if not cmd.strip().startswith("flyer "):
                continue
            want = 1 if re.search(r"exits 1", comment) else 0
            out.append((shlex.split(cmd)[1:], want))
    return out


def test_readme_eplb_examples_run_in_order(tmp_path, monkeypatch):
    """In this process (the installed script's own behaviour is tested in test_cli.py), in an empty folder."""
    examples = readme_examples()
    assert len(examples) >= 15
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("FLYER_PROFILES", raising=False)
    for args, want in examples:
        r = cli(*args)
        assert r.returncode == want, f"flyer {' '.join(args)} exited {r.returncode}: {r.stderr}"
        if "--json" in args:
            assert r.stdout.strip().startswith("{")
