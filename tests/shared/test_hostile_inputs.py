"""Hostile and careless inputs, by class, refused once in the shared layer (fireflyer.io, the CLI boundary):
special files, oversized files, YAML alias bombs, third-party warnings on stderr, what the system refuses.

Each class is handled in one place; the cases below sample it through the commands of several groups, so a
new command that reads through ``fireflyer.io`` gets the same refusals by construction.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time

import pytest

from fireflyer import io
from fireflyer.errors import InputError
from tests.conftest import run_flyer

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi")  # nine levels of nine aliases: 9**9 values
        ),
    ]
)


def one_line_exit_2(res, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flyer: error: "), res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# ---- Special files: FIFOs, devices, directories, links to them -----------------------------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "in.yaml"
    os.mkfifo(path)
    return path


def test_reader_refuses_special_files_without_blocking(tmp_path, fifo):
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    cases = {fifo: "a FIFO", link: "a character device", tmp_path: "a directory"}
    for path, kind in cases.items():
        t0 = time.monotonic()
        with pytest.raises(InputError) as e:
            io.read_bytes(path, what="profile")
        assert kind in e.value.message and e.value.file == str(path)
        assert time.monotonic() - t0 < 1


@pytest.mark.parametrize(
    "argv",
    [
        ["profiles", "validate", "{fifo}"],
        ["kernels", "bench", "--suite", "{fifo}"],
        ["profiles", "validate", "{zero}"],
        ["eplb", "evaluate", "{zero}", "{zero}"],
    ],
)
def test_commands_refuse_special_files(tmp_path, fifo, argv):
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    args = [a.format(fifo=fifo, zero=zero) for a in argv]
    res = run_flyer(*args, timeout=30)
    line = one_line_exit_2(res)
    assert "No such option" not in line and ("FIFO" in line or "device" in line), line


# ---- Sizes: a cap per kind, checked before reading ----------------------------------------------------


def test_size_cap_checked_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:  # sparse: 2 GiB that take no disk and would take 2 GiB of memory to read
        fh.truncate(2 * io.GiB)
    t0 = time.monotonic()
    with pytest.raises(InputError) as e:
        io.read_bytes(big, what="profile", limit=io.LIMITS["profile"])
    assert "over the 1 MiB" in e.value.message and time.monotonic() - t0 < 0.5
    res = run_flyer("profiles", "validate", str(big))
    one_line_exit_2(res, str(big), "over the")


# ---- YAML alias bombs: refused in the loader, fast, for every kind of YAML input ------------------------


def test_alias_bomb_refused_fast():
    t0 = time.monotonic()
    with pytest.raises(InputError) as e:
        io.parse_document(BOMB.encode(), file="bomb.yaml", fmt="yaml")
    assert time.monotonic() - t0 < 0.1
    assert "aliases expand" in e.value.message and e.value.file == "bomb.yaml"
    with pytest.raises(InputError, match="contains itself"):
        io.parse_document(b"a: &a [1, *a]\n", file="self.yaml", fmt="yaml")
    # An anchor reused a few times is ordinary YAML and stays accepted.
    doc = io.parse_document(b"d: &d {size: 4}\nx: *d\ny: *d\n", file="ok.yaml", fmt="yaml")
    assert doc["x"] == doc["y"] == {"size": 4}


@pytest.mark.parametrize(
    "argv",
    [
        ["profiles", "validate", "{f}"],
        ["kernels", "bench", "--suite", "{f}"],
        ["fs3", "render", "{f}", "--out", "{out}"],
    ],
)
def test_commands_refuse_alias_bombs(tmp_path, argv):
    f = tmp_path / "bomb.yaml"
    f.write_text(BOMB + "\n")
    t0 = time.monotonic()
    res = run_flyer(*[a.format(f=f, out=tmp_path / "out") for a in argv], timeout=30)
    one_line_exit_2(res, "aliases expand")
    assert time.monotonic() - t0 < 20  # a process start; the refusal itself is under 0.1 s (above)


def test_profile_search_path_that_is_not_a_profile_folder():
    res = run_flyer("profiles", "list", env={"FLYER_PROFILES": "/proc"}, timeout=30)
    one_line_exit_2(res, "/proc", "FLYER_PROFILES", "entries")


# ---- Names: full-string patterns (``$`` would pass a trailing newline) ----------------------------------


def test_profile_name_with_trailing_newline_refused(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text('kind: model\nname: "evil\\n"\n')
    one_line_exit_2(run_flyer("profiles", "validate", str(f)), "name")


# ---- The boundary: third-party warnings, and what the system refuses ------------------------------------


def test_third_party_warnings_stay_off_stderr(tmp_path):
    """Would have caught cryptography 51 under asyncssh 2.24: a dependency that warns when a command loads
    it (a stand-in that warns the same way, whatever versions this install resolved) must not add lines to
    the one-line error; --debug shows them."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import builtins, warnings
            _import = builtins.__import__
            def _hook(name, *args, **kwargs):
                module = _import(name, *args, **kwargs)
                if name.split(".")[0] in ("asyncssh", "yaml", "msgspec") and not getattr(_hook, "done", 0):
                    _hook.done = 1
                    warnings.warn("a dependency's deprecation notice", DeprecationWarning, stacklevel=2)
                return module
            builtins.__import__ = _hook
            """
        )
    )
    env = {"PYTHONPATH": str(site), "PYTHONWARNINGS": "always"}
    from tests.fs3.clusters import write_cluster

    path = write_cluster(tmp_path, ssh={"key": "no-such-key"})
    res = run_flyer("fs3", "deploy", str(path), "--dry-run", env=env)
    one_line_exit_2(res, "ssh.key")
    res = run_flyer("--debug", "fs3", "deploy", str(path), "--dry-run", env=env)
    assert res.returncode == 2 and "DeprecationWarning" in res.stderr


def test_os_errors_exit_2_naming_the_path(tmp_path):
    res = run_flyer("pipeline", "simulate", "--svg", "/proc/self/nope/x.svg")
    one_line_exit_2(res, "/proc/self/nope")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
