"""Every example in the README runs as written, in order, from an empty folder with an empty home.

An example is a line of a ```bash block that starts with `flyer` or `torchrun`. It must exit 0, or 1 where
the line says `# exits 1` (a gate that fails on purpose); a gate on timings, which may go either way on a
shared machine, says `# may exit 1`. A block right after `<!-- not run: REASON -->` is
skipped, with its reason shown, because it needs what a test machine lacks (a GPU, a cluster).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BLOCK = re.compile(r"(<!-- not run: (?P<why>[^>]*) -->\s*)?```bash\n(?P<body>.*?)```", re.S)


def examples(text: str) -> list[tuple[str, int | tuple[int, ...], str | None]]:
    """(command, expected exit code(s), reason it is not run) for every example line, in README order."""
    out = []
    for m in BLOCK.finditer(text):
        for line in m.group("body").splitlines():
            line = line.strip()
            if not line.startswith(("flyer ", "torchrun ")):
                continue
            code: int | tuple[int, ...] = 1 if re.search(r"#\s*exits 1\b", line) else 0
            if re.search(r"#\s*may exit 1\b", line):
                code = (0, 1)
            out.append((line, code, m.group("why")))
    return out


def test_readme_has_examples_for_every_group():
    cmds = [c for c, _, _ in examples((REPO / "README.md").read_text())]
    for group in ("profiles", "eplb", "pipeline"):
        assert any(c.startswith(f"flyer {group} ") for c in cmds), group


@pytest.mark.slow
def test_every_readme_example_runs_as_written(tmp_path):
    bindir = Path(sys.executable).parent
    if not (bindir / "flyer").exists() and not shutil.which("flyer"):
        pytest.skip("the `flyer` console script is not installed")
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYER_", "XDG_"))}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="100", PATH=f"{bindir}:{env.get('PATH', '')}")
    failures, skipped = [], []
    for cmd, want, why in examples((REPO / "README.md").read_text()):
        if why:
            skipped.append(f"{cmd}  ({why})")
            continue
        line = cmd.split(" #")[0]
        r = subprocess.run(
            ["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        if r.returncode not in (want if isinstance(want, tuple) else (want,)):
            failures.append(f"{cmd}\n  exit {r.returncode}, expected {want}: {r.stderr.strip()[-400:]}")
    assert not failures, "\n".join(failures)
