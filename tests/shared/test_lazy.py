"""The lazy facades (fireflyer._lazy.attach) and their ``if TYPE_CHECKING:`` imports name the same exports,
so what type checkers see cannot drift from what ``fireflyer.<domain>.<name>`` serves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fireflyer
import fireflyer.trace

PACKAGE = Path(fireflyer.__file__).parent
FACADES = sorted(p for p in PACKAGE.rglob("__init__.py") if "attach(" in p.read_text())


def served(tree: ast.Module) -> dict[str, list[str]]:
    """``{submodule: [names]}`` as written in the ``attach(__name__, {...})`` call."""
    (call,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "attach"]
    return {sub: sorted(names) for sub, names in ast.literal_eval(call.args[1]).items()}


def declared(tree: ast.Module) -> dict[str, list[str]]:
    """The same table read from the ``if TYPE_CHECKING:`` block: ``from .sub import name as name`` (an
    explicit re-export) and ``from . import sub as sub`` for a submodule served under its own name."""
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    out: dict[str, list[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.unparse(node)
        for alias in node.names:
            assert alias.asname == alias.name, f"{ast.unparse(node)}: write `{alias.name} as {alias.name}`"
            if node.module is None:
                out.setdefault(alias.name, [])
            else:
                out.setdefault(node.module, []).append(alias.name)
    return {sub: sorted(names) for sub, names in out.items()}


@pytest.mark.parametrize("init", FACADES, ids=lambda p: str(p.parent.relative_to(PACKAGE.parent)))
def test_type_checking_block_lists_what_the_facade_serves(init):
    tree = ast.parse(init.read_text())
    assert declared(tree) == served(tree)


def test_every_domain_package_is_checked():
    assert {p.parent.name for p in FACADES} >= {"eplb", "pipeline", "trace", "fs3", "kernels", "profiles"}


def test_test_oracles_are_not_exported():
    assert "generate" not in fireflyer.trace.__all__ and "synthetic" not in dir(fireflyer.trace)


def modules_after(argv: list[str]) -> set[str]:
    """Which of numpy, torch and matplotlib ``flyer ARGV`` has imported when it exits (in a fresh
    interpreter)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        f"sys.argv = ['flyer', *{argv!r}]\n"
        "from fireflyer import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'torch', 'matplotlib') if m in sys.modules]\n"
        "print('loaded:' + ','.join(heavy), file=sys.stderr)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("loaded:"), res.stderr
    return set(filter(None, last.removeprefix("loaded:").split(",")))


def test_help_imports_no_heavy_module():
    assert modules_after(["--help"]) == set()


@pytest.mark.parametrize("group", ["profiles", "eplb", "pipeline", "trace", "kernels", "inference", "fs3"])
def test_group_help_does_not_import_matplotlib(group):
    """``--plot`` imports matplotlib only inside the drawing functions (commands/views/plotting.py)."""
    assert "matplotlib" not in modules_after([group, "--help"])
