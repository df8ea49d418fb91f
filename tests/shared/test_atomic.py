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


# ---- atomic_dir: a multi-file output appears whole or not at all -----------------------------------------


def test_atomic_dir_new_folder_appears_whole(tmp_path):
    from fireflyer.io import atomic_dir

    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.toml").write_text("a\n")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.service").write_text("b\n")
        assert not out.exists()  # nothing visible until the block ends
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["a.toml", "sub", "sub/b.service"]
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("error", [RuntimeError("node 3 failed"), KeyboardInterrupt()])
def test_atomic_dir_failure_leaves_nothing(tmp_path, error):
    from fireflyer.io import atomic_dir

    out = tmp_path / "out"
    with pytest.raises(type(error)):
        with atomic_dir(out) as tmp:
            for i in range(15):
                (tmp / f"node{i}.toml").write_text("x\n")
            raise error
    assert os.listdir(tmp_path) == []


def test_atomic_dir_merges_into_existing_folder_keeping_other_files(tmp_path):
    from fireflyer.io import atomic_dir

    out = tmp_path / "out"
    out.mkdir()
    (out / "theirs.txt").write_text("keep\n")
    (out / "a.toml").write_text("old\n")
    with atomic_dir(out) as tmp:
        (tmp / "a.toml").write_text("new\n")
    assert (out / "a.toml").read_text() == "new\n" and (out / "theirs.txt").read_text() == "keep\n"
    # A folder where the destination has a file is refused before anything moves.
    with pytest.raises(InputError, match="expected a directory"):
        with atomic_dir(out) as tmp:
            (tmp / "b.toml").write_text("b\n")
            (tmp / "theirs.txt").mkdir()
    assert not (out / "b.toml").exists() and sorted(os.listdir(tmp_path)) == ["out"]
