"""The CLI as a user runs it: the installed `flyer` in a subprocess, and Typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import fireflyer
from fireflyer.cli import GROUPS, app
from tests.conftest import REPO, run_flyer

runner = CliRunner()


def test_version():
    res = run_flyer("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"flyer {fireflyer.__version__}"


def test_help_lists_only_working_groups():
    res = run_flyer("--help")
    assert res.returncode == 0
    listed = set(re.findall(r"^│ (\w+)\s", res.stdout, re.M))
    assert listed == {g.name for g in GROUPS}
    root = typer.main.get_command(app)
    for name in listed:  # no placeholders: every group has at least one command, or is one (flyer report)
        group = root.get_command(None, name)
        assert getattr(group, "commands", None) or group.callback is not None


def test_no_args_shows_help():
    res = run_flyer()
    assert "Usage" in res.stdout + res.stderr


def test_bad_usage_exits_2():
    res = run_flyer("profiles", "show")
    assert res.returncode == 2
    res = run_flyer("nosuchgroup")
    assert res.returncode == 2


def test_input_error_is_one_line_without_traceback_unless_debug(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: toaster\nname: x\n")
    res = run_flyer("profiles", "validate", str(bad))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    res = run_flyer("--debug", "profiles", "validate", str(bad))
    assert res.returncode == 2 and "Traceback" in res.stderr
    res = run_flyer("profiles", "validate", str(bad), env={"FLYER_DEBUG": "1"})
    assert "Traceback" in res.stderr


def test_cli_runner_same_boundary(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: model\n")
    res = runner.invoke(app, ["profiles", "validate", str(bad)])
    assert res.exit_code == 2
    ok = runner.invoke(app, ["profiles", "show", "deepseek-v3", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["profile"]["routed_experts"] == 256


def test_no_colour_when_piped_or_no_color():
    res = run_flyer("profiles", "list")
    assert "\x1b[" not in res.stdout
    res = run_flyer("profiles", "list", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert "\x1b[" not in res.stdout


def _all_commands():
    root = typer.main.get_command(app)

    def walk(cmd, path: list[str]):
        if hasattr(cmd, "commands"):
            for name in sorted(cmd.list_commands(None)):
                yield from walk(cmd.get_command(None, name), [*path, name])
        else:
            yield path, cmd

    return list(walk(root, []))


@pytest.mark.parametrize(
    "path, cmd", _all_commands(), ids=lambda x: " ".join(x) if isinstance(x, list) else ""
)
def test_every_command_has_json_examples_and_readme_entry(path, cmd):
    opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert "--json" in opts, f"flyer {' '.join(path)} has no --json"
    assert "Examples" in (cmd.help or ""), f"flyer {' '.join(path)} has no examples in its help"
    readme = (REPO / "README.md").read_text()
    assert f"flyer {' '.join(path)}" in readme, f"README does not describe `flyer {' '.join(path)}`"


def test_json_outputs_are_single_documents():
    for args in (
        ["profiles", "list"],
        ["profiles", "show", "deepseek-v3-decode"],
        [
            "profiles",
            "validate",
            str(Path(fireflyer.__file__).parent / "profiles/data/model/deepseek-v3.yaml"),
        ],
    ):
        res = run_flyer(*args, "--json")
        assert res.returncode == 0, res.stderr
        json.loads(res.stdout)  # one document, nothing else on stdout


def test_deterministic_output():
    a = run_flyer("profiles", "list", "--json").stdout
    b = run_flyer("profiles", "list", "--json").stdout
    assert a == b
