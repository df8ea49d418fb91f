"""The atomic write helper every command uses."""

from __future__ import annotations

import os
import stat

import pytest

from fireflyer import InputError
from fireflyer.io import atomic_write, dumps_json


def test_writes_and_replaces(tmp_path):
    p = tmp_path / "plan.json"
    atomic_write(p, "one\n")
    atomic_write(p, b"two\n")
    assert p.read_text() == "two\n"
    assert os.listdir(tmp_path) == ["plan.json"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "plan.json"
    p.write_text("old\n")

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(InputError, match="No space left on device") as e:  # exit 2, naming the file
        atomic_write(p, "new\n")
    assert e.value.file == str(p)
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["plan.json"]


def test_keeps_existing_mode(tmp_path):
    p = tmp_path / "x"
    p.write_text("a")
    p.chmod(0o640)
    atomic_write(p, "b")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_missing_directory_is_input_error(tmp_path):
    with pytest.raises(InputError, match="directory does not exist"):
        atomic_write(tmp_path / "nope" / "x.json", "{}")


def test_json_is_deterministic():
    a = dumps_json({"b": 1, "a": [1.5, None], "c": {"z": 1, "y": 2}})
    b = dumps_json({"c": {"y": 2, "z": 1}, "a": [1.5, None], "b": 1})
    assert a == b and a.endswith("\n")
