"""Shared test helpers: run the installed `flyer` as a user does, and locate shared fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


def flyer_exe() -> str:
    exe = Path(sys.executable).parent / "flyer"
    if exe.exists():
        return str(exe)
    found = shutil.which("flyer")
    if not found:
        pytest.skip("the `flyer` console script is not installed (pip install . first)")
    return found


def run_flyer(
    *args: str,
    env: dict | None = None,
    cwd: str | None = None,
    timeout: float = 120,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run the installed `flyer` in a subprocess, as a user would, with colour off and a fixed width."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    full_env.pop("FLYER_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [flyer_exe(), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        input=input,
    )


def run_json(*args: str, **kw) -> object:
    """Run `flyer ... --json`, check exit 0 and that stdout is exactly one JSON document."""
    res = run_flyer(*args, "--json", **kw)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture
def isolated_profiles(tmp_path, monkeypatch):
    """No user profiles leak in from the machine running the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("FLYER_PROFILES", raising=False)
    return tmp_path


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def requires_cuda(test):
    """Marks a test `gpu` (so `pytest -m gpu` selects it) and skips it, saying why, where CUDA is absent."""
    skip = pytest.mark.skipif(
        not cuda_available(), reason="needs a CUDA GPU; none is present on this machine"
    )
    return pytest.mark.gpu(skip(test))
