"""The one loader for input documents and the output checks (fireflyer.io)."""

from __future__ import annotations

import os

import msgspec
import pytest

from fireflyer.errors import InputError
from fireflyer.io import (
    MAX_DEPTH,
    atomic_path,
    atomic_write,
    check_outputs,
    convert,
    load_document,
    parse_document,
)


def _err(text: str, fmt: str = "json") -> InputError:
    with pytest.raises(InputError) as e:
        parse_document(text.encode() if isinstance(text, str) else text, file="f." + fmt, fmt=fmt)
    assert e.value.file == "f." + fmt
    return e.value


def test_json_and_yaml_parse():
    assert parse_document(b'{"a": [1, 2.5]}', file="x", fmt="json") == {"a": [1, 2.5]}
    assert parse_document(b"a: [1, 2.5]\n", file="x", fmt="yaml") == {"a": [1, 2.5]}


@pytest.mark.parametrize("fmt, text", [("json", '{"a": 1, "a": 2}'), ("yaml", "a: 1\nb: 2\na: 3\n")])
def test_duplicate_keys_refused(fmt, text):
    assert "duplicate key 'a'" in _err(text, fmt).message


@pytest.mark.parametrize(
    "fmt, text, field",
    [
        ("json", '{"x": [1, NaN]}', "x[1]"),
        ("json", "[Infinity]", "[0]"),
        ("json", '{"a": {"b": -Infinity}}', "a.b"),
        ("yaml", "x: .nan\n", "x"),
        ("yaml", "x: [1, .inf]\n", "x[1]"),
    ],
)
def test_non_finite_numbers_refused_with_their_path(fmt, text, field):
    e = _err(text, fmt)
    assert e.field == field and "finite" in e.message


@pytest.mark.parametrize("fmt, open_, close", [("json", "[", "]"), ("yaml", "[", "]")])
def test_deep_nesting_refused(fmt, open_, close):
    assert "nested deeper" in _err(open_ * (MAX_DEPTH + 5) + close * (MAX_DEPTH + 5), fmt).message
    assert "nest" in _err(open_ * 100_000 + close * 100_000, fmt).message  # no RecursionError


def test_malformed_and_non_utf8():
    assert "not valid JSON" in _err('{"a": ').message
    assert "not valid YAML" in _err("a: [1, 2\n", "yaml").message
    assert "not UTF-8" in _err(b"\xff\xfe{}").message


def test_load_document_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_document(tmp_path / "missing.json")
    (tmp_path / "empty.yaml").write_text("  \n")
    with pytest.raises(InputError, match="empty"):
        load_document(tmp_path / "empty.yaml")
    (tmp_path / "x.toml").write_text("a = 1")
    with pytest.raises(InputError, match=r"\.json, \.yaml or \.yml"):
        load_document(tmp_path / "x.toml")


class _Inner(msgspec.Struct, forbid_unknown_fields=True):
    n: int


class _Outer(msgspec.Struct, forbid_unknown_fields=True):
    inner: list[_Inner]


def test_convert_names_the_field_path():
    with pytest.raises(InputError) as e:
        convert({"inner": [{"n": 1}, {"n": "x"}]}, _Outer, file="c.yaml")
    assert e.value.file == "c.yaml" and e.value.field == "inner[1].n" and "expected int" in e.value.message
    with pytest.raises(InputError) as e:
        convert({"inner": [], "extra": 1}, _Outer, file="c.yaml")
    assert e.value.field == "extra" and "unknown field" in e.value.message


def test_outputs_may_not_replace_inputs_or_each_other(tmp_path):
    a = tmp_path / "a.npy"
    a.write_text("x")
    link = tmp_path / "link.npy"
    link.symlink_to(a)
    with pytest.raises(InputError, match="replace the input"):
        check_outputs([link], [a])
    with pytest.raises(InputError, match="same file"):
        check_outputs([tmp_path / "o.svg", tmp_path / "." / "o.svg"])
    check_outputs([tmp_path / "o.json", None], [a, None])


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "trace.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["trace.json"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")  # a writer that takes a path, as a profiler's export does
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["trace.json"]


def test_atomic_write_follows_symlinks_and_refuses_special_files(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "current.json"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    with pytest.raises(InputError, match="cannot"):
        atomic_write("/proc/version", "x")
    with pytest.raises(InputError, match="not a regular file"):
        atomic_write(tmp_path, "x")


def test_atomic_write_file_size_limit_is_input_error(tmp_path):
    import resource
    import subprocess
    import sys

    code = (
        "import resource, sys\nfrom fireflyer.io import atomic_write\n"
        "from fireflyer.errors import InputError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n    atomic_write(sys.argv[1], b'x' * 100000)\nexcept InputError as e:\n    print(e.message)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "big")], capture_output=True, text=True, cwd=tmp_path
    )
    assert "File too large" in out.stdout and os.listdir(tmp_path) == []
    assert resource  # the limit is set in the child only
