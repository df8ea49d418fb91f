"""Hostile input, by class: values that would inject commands into rendered scripts, units and SSH commands
(refused at load, quoted where they pass), `init --cluster-id`, partial render outputs, and bad input files
(keys, known_hosts, listings, chains CSV, oversized files) that must exit 2 in one line."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import msgspec
import pytest
import yaml

from fireflyer.errors import InputError
from fireflyer.fs3 import load, render, rendering, services
from fireflyer.fs3.example import example
from fireflyer.fs3.spec import Cluster
from tests.conftest import run_flyer

from .clusters import edit, write_cluster

MARK = "PWNED"


def _payloads(marker: Path) -> dict[str, str]:
    """Injections into a shell command, a shell comment and a systemd unit, each touching ``marker``."""
    m = str(marker)
    return {
        "subst": f"/opt/$(touch {m})",
        "backtick": f"/opt/`touch {m}`",
        "newline": f"/opt/3fs\ntouch {m}",
        "unit": f"/opt/3fs\nExecStartPre=/bin/touch {m}",
        "semicolon": f"/opt/3fs;touch {m}",
        "quote": f"/opt/3fs';touch {m};'",
    }


# ---- values that reach a host: refused at load --------------------------------------------------------

HOSTILE = [
    (lambda d, v: d.update(cluster_id="stage\n"), "cluster_id"),  # `$` would match before the newline
    (lambda d, v: d.update(cluster_id="stage;touch x"), "cluster_id"),
    (lambda d, v: d["nodes"][0].update(name="../meta"), "nodes[0].name"),
    (lambda d, v: d["nodes"][0].update(host="10.0.0.1\ntouch x"), "nodes[0].host"),
    (lambda d, v: d["nodes"][0].update(host="10.0.0.1 -oProxyCommand=x"), "nodes[0].host"),
    (lambda d, v: d["nodes"][0].update(host="10.0.0.256"), "nodes[0].host"),
    (lambda d, v: d["nodes"][0].update(address="$(touch x)"), "nodes[0].address"),
    (lambda d, v: d["nodes"][0].update(ib_devices=["mlx5_0 ; touch x"]), "nodes[0].ib_devices[0]"),
    (lambda d, v: d["nodes"][1].update(root="/srv/x\n"), "nodes[1].root"),
    (lambda d, v: d.update(install_dir=v["subst"]), "install_dir"),
    (lambda d, v: d.update(install_dir=v["unit"]), "install_dir"),
    (lambda d, v: d.update(log_dir=v["newline"]), "log_dir"),
    (lambda d, v: d.update(unit_dir=v["quote"]), "unit_dir"),
    (lambda d, v: d.update(install_dir="/opt/../etc"), "install_dir"),
    (lambda d, v: d.update(install_dir="opt/3fs"), "install_dir"),
    (lambda d, v: d.update(fuse={"mountpoint": v["backtick"]}), "fuse.mountpoint"),
    (lambda d, v: d["storage"]["disks"][0].update(path=v["semicolon"]), "storage.disks[0].path"),
    (lambda d, v: d["storage"]["disks"][0].update(path="/storage/data1/"), "storage.disks[0].path"),
    (lambda d, v: d["storage"]["disks"][0].update(device="/dev/nvme0n1 x"), "storage.disks[0].device"),
    (lambda d, v: d.update(ssh={"user": "root\nx"}), "ssh.user"),
    (lambda d, v: d["monitor"]["clickhouse"].update(db="3fs; DROP TABLE x"), "monitor.clickhouse.db"),
    (lambda d, v: d["monitor"]["clickhouse"].update(client="c;touch x"), "monitor.clickhouse.client"),
    (lambda d, v: d["monitor"]["clickhouse"].update(host="h$(x)"), "monitor.clickhouse.host"),
]


@pytest.mark.parametrize("change, field", HOSTILE)
def test_hostile_values_are_refused_at_load(tmp_path, change, field):
    path = edit(write_cluster(tmp_path), lambda d: change(d, _payloads(tmp_path / MARK)))
    with pytest.raises(InputError) as e:
        load(path)
    assert e.value.file == str(path) and e.value.field == field, e.value
    assert "expected" in e.value.message and "\n" not in e.value.one_line()


def test_hostile_render_is_one_line_and_writes_nothing(tmp_path):
    path = edit(write_cluster(tmp_path), lambda d: d.update(install_dir=_payloads(tmp_path / MARK)["unit"]))
    res = run_flyer("fs3", "render", str(path), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert f"{path}: install_dir: expected a normalised absolute path" in res.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / MARK).exists()
    trailing = edit(
        write_cluster(tmp_path), lambda d: d["storage"]["disks"][0].update(path="/storage/data1/")
    )
    res = run_flyer("fs3", "render", str(trailing), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "(write /storage/data1)" in res.stderr, res.stderr


# ---- what passes is quoted: the rendered script run in a sandbox ----------------------------------------

STANDIN = """#!/bin/sh
# stand-in admin_cli: records its arguments, each ended by a NUL, then \\1 and a NUL
printf '%s\\0' "$@" >> "$CALLS"
printf '\\1\\0' >> "$CALLS"
case "$*" in *user-add*) echo 'Token AADs123(Expired at N/A)';; esac
exit 0
"""


def _unchecked(path: Path, **changes) -> Cluster:
    """A cluster built from YAML without the load-time checks, as a caller of the library could: what
    rendering does with values the patterns would have refused."""
    doc = yaml.safe_load(path.read_text())
    for k, v in changes.items():
        doc[k] = v
    c = msgspec.convert(doc, Cluster)
    c.foundationdb.cluster_file = str(path.parent / "fdb.cluster")
    return c


def _run_script(c: Cluster, sandbox: Path) -> tuple[list[list[str]], subprocess.CompletedProcess]:
    admin = c.with_role("mgmtd")[0]
    p = services.paths(c, admin)
    exe = Path(p.bin) / "admin_cli"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(STANDIN)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    Path(p.chains).mkdir(parents=True, exist_ok=True)
    Path(p.chains, "create_target_cmd.txt").write_text("create-target --node-id 10001\n")
    Path(p.token).write_text("tok\n")
    script = sandbox / "admin_cli_init.sh"
    script.write_text(rendering.script(c, admin))
    calls = sandbox / "calls"
    res = subprocess.run(
        ["sh", str(script)],
        cwd=sandbox,
        env={"PATH": os.environ["PATH"], "CALLS": str(calls)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    runs, run = [], []
    for word in calls.read_bytes().decode().split("\0")[:-1]:
        if word == "\1":
            runs.append(run)
            run = []
        else:
            run.append(word)
    return runs, res


@pytest.mark.parametrize("payload", ["subst", "backtick", "newline", "unit", "semicolon", "quote"])
def test_rendered_script_runs_nothing_injected(tmp_path, payload):
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    marker = tmp_path / MARK
    value = _payloads(marker)[payload]
    path = write_cluster(tmp_path, storage=2, roots={"meta": str(sandbox)})
    c = _unchecked(path, install_dir=value)
    c.nodes[0].host = f"10.0.0.1\ntouch {marker}"  # in the script's comment
    c.nodes[0].name = f"meta\ntouch {marker}"
    runs, res = _run_script(c, sandbox)
    assert not marker.exists(), (payload, res.stdout, res.stderr)
    assert res.returncode == 0, res.stderr
    install = str(sandbox) + value
    # admin_cli got the hostile path as one argument, unchanged, in every call
    assert [r[:2] for r in runs] == [["-cfg", f"{install}/etc/admin_cli.toml"]] * len(runs)
    assert len(runs) == 8 and runs[0][2].startswith(f"init-cluster --mgmtd {install}/etc/mgmtd_main.toml")
    assert runs[4][2:] == ["--config.user_info.token", "AADs123"]  # user-add wrote it to its quoted path
    # deploy and status run the same command line over SSH: the executable and -cfg are single words
    words = shlex.split(services.admin_cli(c, c.nodes[0]) + " list-nodes")
    assert words == [f"{install}/bin/admin_cli", "-cfg", f"{install}/etc/admin_cli.toml", "list-nodes"]
    # no value ends a comment: the host and name stay on the comment's line, escaped
    comment = rendering.script(c, c.nodes[0]).splitlines()[2]
    assert comment.startswith("# 'Run on meta\\ntouch ") and "(10.0.0.1\\ntouch " in comment, comment


def test_allowed_special_characters_stay_quoted(tmp_path):
    """Characters the path pattern allows that mean something to systemd (% specifiers) or look like
    options: the script runs them as data, the unit escapes them."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    path = edit(
        write_cluster(tmp_path, storage=3, roots={"meta": str(sandbox)}),
        lambda d: d.update(install_dir="/opt/3fs%i@x+y/-rf", service_manager="systemd"),
    )
    c = load(path)
    runs, res = _run_script(c, sandbox)
    assert res.returncode == 0 and len(runs) == 8, res.stderr
    assert runs[0][1] == f"{sandbox}/opt/3fs%i@x+y/-rf/etc/admin_cli.toml"
    units = {f.path: f.data.decode() for f in render(c).files["meta"] if f.path.endswith(".service")}
    line = next(ln for ln in units[f"{sandbox}/usr/lib/systemd/system/meta_main.service"].splitlines()
                if ln.startswith("ExecStart="))  # fmt: skip
    assert line == (
        f"ExecStart={sandbox}/opt/3fs%%i@x+y/-rf/bin/meta_main --launcher_cfg "
        f"{sandbox}/opt/3fs%%i@x+y/-rf/etc/meta_main_launcher.toml --app-cfg "
        f"{sandbox}/opt/3fs%%i@x+y/-rf/etc/meta_main_app.toml"
    )


@pytest.mark.parametrize(
    "arg, word",
    [
        ("/opt/3fs/bin/x", "/opt/3fs/bin/x"),
        ("/opt/3fs%n", "/opt/3fs%%n"),
        ("/opt/$HOME", "/opt/$$HOME"),
        ("/opt/a b", '"/opt/a b"'),
        ('/opt/"q"', '"/opt/\\"q\\""'),
        ("/opt/back\\slash", '"/opt/back\\\\slash"'),
        ("/opt/$(x) %i", '"/opt/$$(x) %%i"'),
        (";", "\\;"),
    ],
)
def test_systemd_words(arg, word):
    assert rendering.systemd_word(arg) == word


@pytest.mark.parametrize("arg", ["/opt/3fs\nExecStartPre=/bin/touch x", "/opt/\r", "/opt/\x00"])
def test_systemd_words_refuse_control_characters(arg):
    with pytest.raises(ValueError):
        rendering.systemd_word(arg)


def test_units_hold_one_directive_per_line_even_unchecked(tmp_path):
    path = write_cluster(tmp_path, storage=2)
    c = _unchecked(path, install_dir="/opt/$(touch x) %i")
    text = rendering.unit(c, c.nodes[0], "meta").decode()
    keys = [ln.split("=", 1)[0] for ln in text.splitlines() if "=" in ln]
    assert keys == ["Description", "Requires", "After", "LimitNOFILE", "ExecStart", "Type", "WantedBy"]
    assert 'ExecStart="/opt/$$(touch x) %%i/bin/meta_main"' in text
    with pytest.raises(ValueError):
        rendering.unit(
            _unchecked(path, install_dir="/opt/3fs\nExecStartPre=/bin/touch x"), c.nodes[0], "meta"
        )


# ---- init --cluster-id ----------------------------------------------------------------------------------


def test_init_cluster_id_is_checked_and_yaml_is_written_by_a_library(tmp_path):
    for bad in ("a: b\nevil: 1", "stage\n", "x'y", "-lead", "a" * 64):
        path = tmp_path / "bad.yaml"
        res = run_flyer("fs3", "init", str(path), "--cluster-id", bad)
        assert res.returncode == 2 and "--cluster-id" in res.stderr, (bad, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and not path.exists()
    path = tmp_path / "lab.yaml"
    assert (
        run_flyer("fs3", "init", str(path), "--cluster-id", "lab-2", "--storage-nodes", "3").returncode == 0
    )
    assert yaml.safe_load(path.read_text()) == example("lab-2", 3)
    assert load(path).cluster_id == "lab-2"
    assert (tmp_path / "fdb.cluster").read_text().endswith("lab_2:example@192.168.1.1:4500\n")


# ---- render: whole or nothing ---------------------------------------------------------------------------


def test_render_leaves_nothing_when_a_later_node_fails(tmp_path):
    path = write_cluster(tmp_path, storage=3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "storage3").write_text("a file where the last node's directory goes\n")
    res = run_flyer("fs3", "render", str(path), "--out", str(out))
    assert res.returncode == 2 and "storage3" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.rglob("*")) == ["storage3"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # no temporary folder
    (out / "storage3").unlink()
    res = run_flyer("fs3", "render", str(path), "--out", str(out))
    assert res.returncode == 0 and len([p for p in out.rglob("*") if p.is_file()]) == 36, res.stderr


# ---- bad input files: exit 2, one line naming the file --------------------------------------------------


def _one_line(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    for n in needles:
        assert n in res.stderr, (n, res.stderr)


def _deployable(tmp_path: Path, **ssh) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for b in services.binaries(["mgmtd", "meta", "storage", "fuse", "monitor"]):
        (bin_dir / b).write_text("#!/bin/sh\n")
    return write_cluster(tmp_path, ssh=ssh or None)


def test_garbage_ssh_key_and_known_hosts(tmp_path):
    key = tmp_path / "id_garbage"
    key.write_text("garbage\n")
    _one_line(run_flyer("fs3", "deploy", str(_deployable(tmp_path, key=str(key))), "--dry-run"),
              str(key), "not a usable SSH private key")  # fmt: skip
    big = tmp_path / "id_big"
    big.write_bytes(b"k" * (2 << 20))
    _one_line(
        run_flyer("fs3", "deploy", str(_deployable(tmp_path, key=str(big))), "--dry-run"), str(big), "over"
    )
    path = _deployable(tmp_path)
    kh = tmp_path / "known_hosts"
    kh.write_text("garbage\n")
    _one_line(run_flyer("fs3", "deploy", str(path), "--dry-run", "--known-hosts", str(kh)),
              str(kh), "not a known_hosts file")  # fmt: skip
    _one_line(
        run_flyer("fs3", "status", str(path), "--known-hosts", str(tmp_path)), str(tmp_path), "directory"
    )
    fifo = tmp_path / "kh-fifo"
    os.mkfifo(fifo)
    _one_line(run_flyer("fs3", "deploy", str(path), "--dry-run", "--known-hosts", str(fifo)), "FIFO")


NODES = "Id     Type   Status         Hostname\n1      MGMTD  PRIMARY_MGMTD  meta\n"
TARGETS = (
    "TargetId  ChainId  Role  PublicState  LocalState  NodeId  DiskIndex  UsedSize\n"
    "1         9        HEAD  SERVING      UPTODATE    10001   0          0\n"
)
CHAINS = (
    "ChainId  ReferencedBy  ChainVersion  Status   PreferredOrder  Target  Target\n"
    "9        1             1             SERVING  []              1       2\n"
)


@pytest.mark.parametrize(
    "which, text, needle",
    [
        ("list-nodes", NODES.replace("Hostname", "Host    "), "no Hostname column"),
        ("list-nodes", NODES.replace("Status  ", "Type    "), "the column Type appears twice"),
        ("list-targets", TARGETS.replace("NodeId", "Role  "), "the column Role appears twice"),
        ("list-chains", CHAINS.replace("Status ", "Other  "), "no Status column"),
        ("list-chains", "", "is empty"),
    ],
)
def test_listings_missing_or_repeating_a_column(tmp_path, which, text, needle):
    d = tmp_path / "listings"
    d.mkdir()
    for name, body in (("list-nodes", NODES), ("list-targets", TARGETS), ("list-chains", CHAINS)):
        (d / f"{name}.txt").write_text(text if name == which else body)
    _one_line(run_flyer("fs3", "status", "--from", str(d)), str(d / f"{which}.txt"), needle)


def test_oversized_or_malformed_files(tmp_path):
    csv_path = tmp_path / "chains.csv"
    csv_path.write_text("ChainId,TargetId\n900100001," + "1" * 200_000 + "\n")
    _one_line(run_flyer("fs3", "plan", "add-nodes", str(csv_path), "--add", "1"), str(csv_path), "line 2")
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as fh:
        fh.write(b"# " + b"x" * (17 << 20) + b"\n")
    _one_line(
        run_flyer("fs3", "render", str(huge), "--out", str(tmp_path / "o")), str(huge), "over the 16 MiB"
    )
    pw = tmp_path / "pw"
    pw.write_bytes(b"p" * (65 << 10))
    path = edit(write_cluster(tmp_path), lambda d: d["monitor"]["clickhouse"].update(password_file="pw"))
    _one_line(run_flyer("fs3", "render", str(path), "--out", str(tmp_path / "o")), str(pw), "password file")
