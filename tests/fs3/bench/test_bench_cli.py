"""`flyer fs3 bench` as a user runs it: results, thresholds and exit codes, every bad input (exit 2 with one
line), and interrupted runs that remove what they wrote."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fireflyer.cli import app
from fireflyer.fs3 import bench
from tests.conftest import flyer_exe, run_flyer

HAVE_FIO = bench.fio_version() is not None
SIGNAL_EXITS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def leftovers(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if p.name.startswith(".flyer-bench-")]


def one_error_line(res, code: int = 2) -> str:
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


# ---- io and meta ---------------------------------------------------------------------------------------


def test_io_json_and_out_file(tmp_path):
    out = tmp_path / "io.json"
    res = run_flyer(
        "fs3",
        "bench",
        "io",
        str(tmp_path),
        "--pattern",
        "rand-read",
        "--size",
        "8MiB",
        "--jobs",
        "2",
        "--iodepth",
        "4",
        "--engine",
        "builtin",
        "--json",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["engine"] == "builtin" and data["pattern"] == "rand-read" and data["block"] == 4096
    assert data["bytes"] == 8 << 20 and data["iops"] > 0 and data["latency"]["p99_us"] > 0
    assert json.loads(out.read_text()) == data
    assert leftovers(tmp_path) == []


def test_io_human_output_names_the_published_figure(tmp_path):
    res = run_flyer("fs3", "bench", "io", str(tmp_path), "--size", "8MiB", "--jobs", "2", "--buffered")
    assert res.returncode == 0, res.stderr
    assert "throughput" in res.stdout and "buffered" in res.stdout and "per client" in res.stdout
    if not HAVE_FIO:
        assert "fio is not installed" in res.stdout


def test_io_without_fio_on_path_uses_the_builtin_engine(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = run_flyer(
        "fs3",
        "bench",
        "io",
        str(tmp_path),
        "--size",
        "4MiB",
        "--jobs",
        "1",
        "--json",
        env={"PATH": str(empty)},
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["engine"] == "builtin" and "fio is not installed" in data["notes"][0]
    line = one_error_line(
        run_flyer("fs3", "bench", "io", str(tmp_path), "--engine", "fio", env={"PATH": str(empty)})
    )
    assert "fio is not installed" in line and "apt-get install fio" in line


def test_meta_json(tmp_path):
    res = run_flyer(
        "fs3", "bench", "meta", str(tmp_path), "--files", "600", "--dirs", "6", "--jobs", "3", "--json"
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert [p["name"] for p in data["phases"]] == ["create", "stat", "rename", "delete"]
    assert all(p["ops"] == 600 and p["ops_s"] > 0 for p in data["phases"])
    assert leftovers(tmp_path) == []


# ---- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--size", "4XB"], "--size"),
        (["--size", "1.5b"], "whole number of bytes"),
        (["--block", "abc"], "--block"),
        (["--pattern", "sideways"], "'sideways' is not one of 'seq-read'"),
        (["--engine", "dd"], "'dd' is not one of 'auto'"),
        (["--block", "1000"], "block: must be a multiple of 4 KiB"),
        (["--jobs", "0"], "'--jobs': must be 1..4096"),
        (["--size", "1EiB", "--block", "1GiB", "--iodepth", "1"], "GiB free"),
    ],
)
def test_io_bad_options(tmp_path, args, expect):
    line = one_error_line(run_flyer("fs3", "bench", "io", str(tmp_path), *args))
    assert expect in line, line
    assert leftovers(tmp_path) == []


def test_bad_paths(tmp_path):
    line = one_error_line(run_flyer("fs3", "bench", "io", str(tmp_path / "nope")))
    assert "no such directory" in line and str(tmp_path / "nope") in line
    f = tmp_path / "file"
    f.write_text("x")
    assert "not a directory" in one_error_line(run_flyer("fs3", "bench", "meta", str(f)))
    if os.geteuid() == 0:
        locked = Path("/proc/sys")  # root writes anywhere its permissions allow; procfs refuses new dirs
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
    line = one_error_line(run_flyer("fs3", "bench", "meta", str(locked), "--files", "10", "--dirs", "1"))
    assert "writable" in line or "cannot create a directory" in line or "on proc" in line, line


def test_sort_bad_options(tmp_path):
    assert "--size" in one_error_line(run_flyer("fs3", "bench", "sort", str(tmp_path), "--size", "lots"))
    line = one_error_line(run_flyer("fs3", "bench", "sort", str(tmp_path), "--size", "10"))
    assert "size: must be at least one 100-byte record" in line
    line = one_error_line(
        run_flyer("fs3", "bench", "sort", str(tmp_path), "--size", "1KiB", "--partitions", "0")
    )
    assert "'--partitions': must be 1..65536" in line
    line = one_error_line(
        run_flyer("fs3", "bench", "sort", str(tmp_path), "--size", "1KiB", "--partitions", "11")
    )
    assert "partitions: must be between 1 and 10" in line
    line = one_error_line(run_flyer("fs3", "bench", "sort", str(tmp_path), "--ray-address", "not an address"))
    assert "ray_address: expected HOST:PORT" in line
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    line = one_error_line(
        run_flyer("fs3", "bench", "sort", str(tmp_path), "--ray-address", f"127.0.0.1:{port}")
    )
    assert "cannot reach Ray" in line
    assert leftovers(tmp_path) == []


def test_sort_ray_address_that_does_not_answer(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    t = time.monotonic()
    try:
        res = run_flyer(
            "fs3",
            "bench",
            "sort",
            str(tmp_path),
            "--ray-address",
            f"ray://127.0.0.1:{listener.getsockname()[1]}",
            "--ray-timeout",
            "1",
        )
    finally:
        listener.close()
    assert "did not answer within 1 s" in one_error_line(res)
    assert time.monotonic() - t < 30
    assert leftovers(tmp_path) == []


def test_sort_without_the_bench_extra_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "smallpond", None)  # import smallpond now fails as if not installed
    res = CliRunner().invoke(app, ["fs3", "bench", "sort", str(tmp_path)])
    assert res.exit_code == 2
    assert 'pip install "fireflyer[bench]"' in res.output and "Smallpond" in res.output
    assert leftovers(tmp_path) == []


# ---- all -----------------------------------------------------------------------------------------------

QUICK_ALL = [
    "--no-sort",
    "--size",
    "8MiB",
    "--jobs",
    "2",
    "--iodepth",
    "2",
    "--files",
    "300",
    "--dirs",
    "3",
    "--engine",
    "builtin",
]


def test_all_passes_with_reachable_thresholds(tmp_path):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("name: test\nbench:\n  seq_read_gib_s: 0.0001\n  meta_create_ops_s: 1\n")
    work = tmp_path / "work"
    work.mkdir()
    res = run_flyer("fs3", "bench", "all", str(work), *QUICK_ALL, "--cluster", str(cluster))
    assert res.returncode == 0, res.stderr
    assert "passed: 2 pass, 0 warn, 0 fail" in res.stdout
    assert leftovers(work) == []


def test_all_fails_a_missed_threshold_with_exit_1(tmp_path):
    res = run_flyer(
        "fs3",
        "bench",
        "all",
        str(tmp_path),
        *QUICK_ALL,
        "--threshold",
        "meta_create_ops_s=1e12",
        "--threshold",
        "rand_read_p99_ms=1e6",
        "--json",
    )
    line = one_error_line(res, code=1)
    assert "1 of" in line and "meta_create_ops_s" in line
    data = json.loads(res.stdout)
    assert data["passed"] is False and data["counts"]["fail"] == 1 and data["counts"]["pass"] == 1
    by = {v["check"]: v for v in data["summary"]}
    assert by["meta_create_ops_s"]["status"] == "fail" and by["rand_read_p99_ms"]["status"] == "pass"
    assert [r["pattern"] for r in data["io"]] == ["seq-write", "seq-read", "rand-read", "rand-write"]
    assert data["sort"] is None


def test_all_bad_thresholds(tmp_path):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("bench:\n  seq_read_gbps: 10\n")
    line = one_error_line(
        run_flyer("fs3", "bench", "all", str(tmp_path), *QUICK_ALL, "--cluster", str(cluster))
    )
    assert str(cluster) in line and "bench.seq_read_gbps: unknown field" in line
    line = one_error_line(run_flyer("fs3", "bench", "all", str(tmp_path), *QUICK_ALL, "--threshold", "fast"))
    assert "threshold: expected NAME=NUMBER" in line


# ---- the sort (Ray and Smallpond) ----------------------------------------------------------------------


@pytest.mark.slow
def test_sort_end_to_end(tmp_path):
    res = run_flyer(
        "fs3", "bench", "sort", str(tmp_path), "--size", "32MiB", "--partitions", "3", "--json", timeout=300
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    v = data["validation"]
    assert v["ok"] and v["records"] == (32 << 20) // 100 and v["partitions"] == 3 and v["missing"] == 0
    assert data["ray_address"] == "local" and data["nodes"] == 1 and data["gib_s"] > 0
    assert set(data["seconds"]) >= {"ray_start", "generate", "sort", "validate", "total"}
    assert data["published"]["per_node"] == pytest.approx(3.66 * 1024 / 60 / 50)
    assert data["versions"]["smallpond"].startswith("0.15")
    assert res.stderr == ""  # what Ray and Smallpond print stays in the run's logs
    assert leftovers(tmp_path) == []


@pytest.fixture
def ray_cluster(tmp_path_factory):
    """A Ray head started here (`ray start --head --block`, token authentication on, a token of its own),
    stopped afterwards, its process group with it; -> (address, env for drivers)."""
    import secrets
    import shutil

    ray_exe = shutil.which("ray", path=str(Path(sys.executable).parent))
    if ray_exe is None:
        pytest.skip("Ray's CLI is not installed (pip install fireflyer[bench])")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    temp = tempfile.mkdtemp(prefix="flyer-rayt-")  # NOTE: short: Ray's Unix sockets live under it
    head = subprocess.Popen(
        [
            ray_exe,
            "start",
            "--head",
            f"--port={port}",
            "--block",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                bench.probe_ray(bench.BenchHosts(address=f"127.0.0.1:{port}", timeout=1.0))
                break
            except Exception:
                time.sleep(0.3)
        yield f"127.0.0.1:{port}", env
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
        try:
            head.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, signal.SIGKILL)  # anything of its group still there
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_sort_on_an_existing_ray_cluster(tmp_path, ray_cluster):
    address, env = ray_cluster
    res = run_flyer(
        "fs3",
        "bench",
        "sort",
        str(tmp_path),
        "--size",
        "16MiB",
        "--ray-address",
        address,
        "--json",
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert (
        data["validation"]["ok"]
        and data["ray_address"] == address
        and data["nodes"] == 1
        and data["cpus"] == 2
    )
    assert data["partitions"] == 2 and leftovers(tmp_path) == []


def _start(args: list[str], path: Path, ready, box: list | None = None) -> subprocess.Popen:
    env = {**os.environ, "NO_COLOR": "1"}
    # NOTE: a runner started in the background inherits SIGINT ignored (so would this child, and Python then
    # never raises KeyboardInterrupt): give the child the default disposition, as a terminal would.
    proc = subprocess.Popen(
        [flyer_exe(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    if box is not None:
        box.append(proc)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ready(path):
            return proc
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the run never got going: {proc.communicate()}")


@pytest.mark.parametrize(
    "engine, sig, written",
    [
        ("builtin", signal.SIGINT, "job0.dat"),
        ("builtin", signal.SIGTERM, "job0.dat"),
        pytest.param(
            "fio",
            signal.SIGTERM,
            "fio.0.dat",
            marks=pytest.mark.skipif(
                not HAVE_FIO, reason="fio is not installed (apt-get install fio; .ci/run does)"
            ),
        ),
    ],
)
def test_interrupted_io_removes_its_files(tmp_path, engine, sig, written):
    args = ["fs3", "bench", "io", str(tmp_path), "--pattern", "rand-write", "--size", "4GiB", "--jobs", "1"]
    proc = _start(
        [*args, "--iodepth", "1", "--engine", engine],
        tmp_path,
        lambda p: any((d / written).exists() for d in leftovers(p)),
    )
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == SIGNAL_EXITS[sig] and "interrupted" in err, (proc.returncode, err)
    assert out == "" and leftovers(tmp_path) == []


def _ray_head_of(proc: subprocess.Popen) -> str | None:
    """The --temp-dir of the `ray start` process the run started (its child), once there is one."""
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        return None
    for pid in children:
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            if "ray.scripts.scripts" in argv:
                return next((a.split("=", 1)[1] for a in argv if a.startswith("--temp-dir=")), None)
    return None


@pytest.mark.slow
@pytest.mark.parametrize(
    "moment, sig",
    [
        ("ray starting", signal.SIGINT),
        ("ray starting", signal.SIGTERM),
        ("ray starting", signal.SIGHUP),
        ("smallpond running", signal.SIGTERM),
    ],
)
def test_interrupted_sort_removes_its_files_and_its_ray(tmp_path, moment, sig):
    """Each signal while the local Ray head starts, and SIGTERM (what `kill` and systemd send) while
    Smallpond's tasks run: the run exits 128 + the signal's number within seconds, and leaves no scratch
    directory, no Ray directory, no Ray process. NOTE: one handler serves the three signals in both phases;
    every signal in the second phase too added some 17 s to the suite and no other path."""
    args = ["fs3", "bench", "sort", str(tmp_path), "--size", "512MiB"]
    found: dict[str, str] = {}

    def ready(path: Path) -> bool:
        temp = _ray_head_of(proc_box[0])
        if temp:
            found["temp"] = temp
        if moment == "ray starting":
            return "temp" in found
        return "temp" in found and any((d / "smallpond").exists() for d in leftovers(path))

    proc_box: list[subprocess.Popen] = []
    proc = _start(args, tmp_path, ready, box=proc_box)
    time.sleep(0.5 if moment == "ray starting" else 1.0)
    t = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    took = time.monotonic() - t
    assert proc.returncode == SIGNAL_EXITS[sig], (proc.returncode, err[-2000:])
    assert err.strip().splitlines() == [
        f"flyer: interrupted ({signal.Signals(sig).name}); what the run wrote is removed"
    ]
    assert took < 15, took
    assert out == "" and leftovers(tmp_path) == []
    temp = found["temp"]
    assert not Path(temp).exists()
    assert subprocess.run(["pgrep", "-f", temp], capture_output=True).returncode == 1  # none left
