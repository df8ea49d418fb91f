"""Every example in the README runs as written, in order, from an empty folder with an empty home.

An example is a line of a ```bash block that starts with `flyer` or `torchrun`. It must exit 0, or 1 where
the line says `# exits 1` (a gate that fails on purpose); a gate on timings, which may go either way on a
shared machine, says `# may exit 1`. A block right after `<!-- not run: REASON -->` is skipped, with its
reason shown, because it needs what a test machine lacks (a GPU, a cluster). The README's sections run in
two lanes at once, each lane's sections in README order in a folder of its own (`LANE`: sections whose
examples read each other's files share a lane), so the test takes about the time of the longer lane.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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


LANE = ("flyer eplb", "flyer pipeline", "flyer trace", "flyer report")
"""The README sections (``## `` headings) of the first lane; every other section runs in the second. report
reads what the trace and pipeline examples wrote, so they share a lane."""


def sections(text: str) -> dict[str, str]:
    """The README's ``## `` sections by heading, in order."""
    parts = re.split(r"(?m)^## ", text)
    return {p.splitlines()[0].strip(): p for p in parts[1:]}


def lanes(text: str) -> list[list[tuple[str, int | tuple[int, ...], str | None]]]:
    """The examples of each lane, in README order within it."""
    named = set(LANE)
    first = [c for h, body in sections(text).items() if h in named for c in examples(body)]
    rest = [c for h, body in sections(text).items() if h not in named for c in examples(body)]
    return [first, rest]


def test_readme_has_examples_for_every_group():
    cmds = [c for c, _, _ in examples((REPO / "README.md").read_text())]
    for group in ("profiles", "eplb", "pipeline"):
        assert any(c.startswith(f"flyer {group} ") for c in cmds), group


def test_every_example_is_in_a_lane():
    text = (REPO / "README.md").read_text()
    assert sum(len(lane) for lane in lanes(text)) == len(examples(text))
    assert set(LANE) <= set(sections(text))


def _run_lane(lane, work: Path, env: dict[str, str]) -> tuple[list[str], list[str]]:
    work.mkdir()
    failures, skipped = [], []
    for cmd, want, why in lane:
        if why:
            skipped.append(f"{cmd}  ({why})")
            continue
        line = cmd.split(" #")[0]
        r = subprocess.run(
            ["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        if r.returncode not in (want if isinstance(want, tuple) else (want,)):
            failures.append(f"{cmd}\n  exit {r.returncode}, expected {want}: {r.stderr.strip()[-400:]}")
    return failures, skipped


@pytest.mark.slow
def test_every_readme_example_runs_as_written(tmp_path):
    bindir = Path(sys.executable).parent
    if not (bindir / "flyer").exists() and not shutil.which("flyer"):
        pytest.skip("the `flyer` console script is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYER_", "XDG_"))}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="100", PATH=f"{bindir}:{env.get('PATH', '')}")
    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(
                lambda i_lane: _run_lane(i_lane[1], tmp_path / f"work{i_lane[0]}", env),
                enumerate(lanes((REPO / "README.md").read_text())),
            )
        )
    failures = [f for fs, _ in runs for f in fs]
    assert not failures, "\n".join(failures)
