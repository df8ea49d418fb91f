"""``flyer eplb collect`` and ``rebalance --collect-from`` against an SGLang-shaped HTTP server.

The server is a real ``ThreadingHTTPServer`` on 127.0.0.1 answering as SGLang 0.5.23's
``srt/entrypoints/http_server.py`` does: ``/server_info`` (and the deprecated ``/get_server_info``) with the
server arguments at the top level, the three recorder routes (GET or POST, 200 and their text lines),
FastAPI's ``{"detail":"Not Found"}`` 404 elsewhere. Its dumps are written by SGLang's own ``_StatAccumulator``
(``engines.sglang_expert_distribution``), into the directory it shares with the collector. A start request to
a server without a recorder mode makes SGLang's scheduler raise and the server go down: the stand-in closes
the connection unanswered and records that it was asked, which no test allows.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import numpy as np
import pytest
import torch

from fireflyer import eplb
from fireflyer.commands.eplb import RESULTS

from ..conftest import REPO, run_flyer
from . import engines

TEXT = {
    "/start_expert_distribution_record": "Start recording the expert distribution.\n",
    "/stop_expert_distribution_record": "Stop recording the expert distribution.\n",
    "/dump_expert_distribution_record": "Dump expert distribution record.\n",
}


class Sglang:
    """The stand-in's state: its mode, what it was asked, and how it writes its dump."""

    def __init__(self, ed, meta, dump_dir: Path, private: Path):
        self.ed, self.meta, self.dump_dir, self.private = ed, meta, dump_dir, private
        self.info = {
            "version": engines.SGLANG,
            "expert_distribution_recorder_mode": "stat",
            "enable_eplb": False,
        }
        self.dump = "now"  # now, partial (written in two halves after answering), never
        self.not_sglang = False
        self.asked: list[str] = []
        self.requests = 0
        self.acc = None

    def start(self) -> None:
        self.acc = self.ed._StatAccumulator(self.meta, 0)
        self.acc._first_dump = False  # its first dump empties the GPU cache; no GPU here

    def record(self) -> None:
        rng = np.random.default_rng(len(self.asked))
        for i in range(3):
            p = torch.from_numpy(rng.integers(0, 50, (61, 288)).astype(np.int32))
            p[:3] = 0
            self.acc.append(i, "primary", {"global_physical_count": p}, {})

    def write_dump(self) -> None:
        self.acc.dump("file")  # SGLang's own torch.save into SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR
        (made,) = list(self.private.glob("*.pt"))
        if self.dump == "now":
            shutil.move(made, self.dump_dir / made.name)
            return
        data, target = made.read_bytes(), self.dump_dir / made.name
        made.unlink()

        def slowly():
            with open(target, "wb") as fh:
                fh.write(data[: len(data) // 2])
                fh.flush()
                time.sleep(1.0)
                fh.write(data[len(data) // 2 :])

        threading.Thread(target=slowly, daemon=True).start()


def handler(state: Sglang):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code: int, body: str, ctype: str = "application/json") -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path
            state.asked.append(path)
            if state.not_sglang or path not in ("/server_info", "/get_server_info", "/metrics", *TEXT):
                return self.send(404, '{"detail":"Not Found"}')
            if path in ("/server_info", "/get_server_info"):
                return self.send(200, json.dumps(state.info))
            if path == "/metrics":
                state.requests += 7
                return self.send(
                    200, f'sglang:num_requests_total{{model_name="m"}} {state.requests}.0\n', "text/plain"
                )
            if state.info["expert_distribution_recorder_mode"] is None:
                self.close_connection = True  # SGLang's scheduler raised: the server is going down
                return None
            if path.startswith("/start"):
                state.start()
            elif path.startswith("/stop"):
                state.record()
            elif state.dump != "never":
                state.write_dump()
            return self.send(200, TEXT[path], "text/plain; charset=utf-8")

        do_POST = do_GET

    return Handler


@pytest.fixture
def sglang(tmp_path, monkeypatch):
    cfg = engines.sglang_config()
    private, shared = tmp_path / "private", tmp_path / "shared"
    private.mkdir()
    shared.mkdir()
    ed = engines.sglang_expert_distribution(cfg, private, monkeypatch)
    el = engines.sglang_expert_location(cfg)
    table = torch.arange(288).repeat(61, 1) % 256
    meta = el.ExpertLocationMetadata.init_by_mapping(engines.deepseek_v3_model_config(), table, moe_ep_rank=0)
    state = Sglang(ed, meta, shared, private)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    with engines.one_rank_group(tmp_path):
        yield state
    server.shutdown()
    server.server_close()


def collect(state, out, *more):
    return run_flyer(
        "eplb", "collect", "--server", state.url, "--dump-dir", str(state.dump_dir), "--out", str(out), *more
    )


def test_collect_moves_the_servers_dump_to_the_load_file(sglang, tmp_path):
    out = tmp_path / "load.pt"
    r = collect(sglang, out, "--seconds", "0.5", "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    msgspec.json.decode(r.stdout, type=RESULTS["collect"], strict=True)  # the documented schema
    assert rec["server"] == sglang.url and rec["version"] == engines.SGLANG and rec["mode"] == "stat"
    assert 0.5 <= rec["seconds"] < 5 and rec["load"] == str(out) and rec["requests"] is None
    assert [a.split("_")[0] for a in sglang.asked[1:]] == ["/start", "/stop", "/dump"]
    assert not list(sglang.dump_dir.glob("*.pt"))  # moved, not copied
    loads = eplb.read_loads(out)
    assert loads.counts.shape == (61, 256) and loads.layer_ids.tolist() == list(range(61))
    assert rec["tokens"] == int(loads.counts.sum(axis=1).max()) // 8 and rec["layers"] == 61


def test_collect_waits_for_a_partly_written_dump(sglang, tmp_path):
    sglang.dump = "partial"
    r = collect(sglang, tmp_path / "load.pt", "--seconds", "0.2")
    assert r.returncode == 0, r.stderr
    assert eplb.read_loads(tmp_path / "load.pt").counts.shape == (61, 256)


def test_collect_by_requests_reads_the_servers_metrics(sglang, tmp_path):
    r = collect(sglang, tmp_path / "load.pt", "--requests", "10", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["requests"] >= 10


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("not sglang", 2, "not an SGLang server"),
        ("no recorder", 2, "records no expert distribution"),
        ("per_token", 2, "one file per rank"),
        ("eplb", 2, "recording already"),
        ("never", 1, "no whole dump within"),
        ("down", 2, "cannot reach the server"),
    ],
)
def test_collect_failures_are_named(sglang, tmp_path, case, code, says):
    extra = []
    if case == "not sglang":
        sglang.not_sglang = True
    elif case == "no recorder":
        sglang.info["expert_distribution_recorder_mode"] = None
    elif case == "per_token":
        sglang.info["expert_distribution_recorder_mode"] = "per_token"
    elif case == "eplb":
        sglang.info["enable_eplb"] = True
    elif case == "never":
        sglang.dump = "never"
        extra = ["--dump-timeout", "1"]
    elif case == "down":
        sglang.url = "http://127.0.0.1:9"
    r = collect(sglang, tmp_path / "load.pt", "--seconds", "0.2", *extra)
    assert r.returncode == code, r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not any(a.startswith("/start") for a in sglang.asked) or case == "never"
    assert not (tmp_path / "load.pt").exists()


def test_a_second_collect_on_the_same_directory_exits_75(sglang, tmp_path):
    first = subprocess.Popen(
        [
            str(Path(shutil.which("flyer") or "flyer")),
            "eplb",
            "collect",
            "--server",
            sglang.url,
            "--dump-dir",
            str(sglang.dump_dir),
            "--out",
            str(tmp_path / "a.pt"),
            "--seconds",
            "3",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            if any(a.startswith("/start") for a in sglang.asked):
                break
            time.sleep(0.1)
        r = collect(sglang, tmp_path / "b.pt", "--seconds", "0.2")
        assert r.returncode == 75, r.stderr
        assert "another flyer eplb collect holds the lock" in r.stderr
    finally:
        assert first.wait(60) == 0


def _plan(tmp_path) -> Path:
    load, plan = tmp_path / "seed.npy", tmp_path / "plan.json"
    assert run_flyer("eplb", "sample", "--out", str(load)).returncode == 0
    r = run_flyer(
        "eplb",
        "plan",
        str(load),
        "--model",
        "deepseek-v3",
        "--nodes",
        "4",
        "--gpus",
        "32",
        "--out",
        str(plan),
    )
    assert r.returncode == 0, r.stderr
    return plan


def readme_block(lang: str, marker: str) -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(rf"```{lang}\n(.*?)```", text, re.S)
    found = [b for b in blocks if marker in b]
    assert found, f"the README has no {lang} block with {marker}"
    return found[0]


def test_the_readme_crontab_line_runs_as_written(sglang, tmp_path):
    """The README's crontab line, its command run by the shell as cron runs it; only the server's URL, the
    directories (/srv/eplb in the README) and the window (600 s there, 0.3 s here) are this test's."""
    (tmp_path / "p").mkdir()
    plan = _plan(tmp_path / "p")
    line = next(ln for ln in readme_block("crontab", "flyer eplb rebalance").splitlines() if "flyer" in ln)
    command = " ".join(line.split()[5:])  # the five time fields, then the command
    srv = tmp_path / "srv"
    srv.mkdir()
    shutil.copy(plan, srv / "plan.json")
    command = command.replace("/srv/eplb/dumps", str(sglang.dump_dir)).replace("/srv/eplb", str(srv))
    command = command.replace("http://127.0.0.1:30000", sglang.url).replace("--seconds 600", "--seconds 0.3")
    bindir = Path(shutil.which("flyer") or "").parent
    r = subprocess.run(
        ["sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert r.returncode in (0, 10), r.stderr
    lines = (srv / "rebalance.log").read_text().strip().splitlines()  # the line sends all output there
    assert (
        lines[0].startswith("collected ") and lines[1].startswith(("replaced ", "kept ")) and len(lines) == 2
    )
    assert (srv / "plan.load.pt").exists()


def test_systemd_units_run_as_written(sglang, tmp_path):
    """--systemd writes the service and timer; systemd-analyze accepts them, and the service's ExecStart,
    unquoted as systemd does, runs: collect and rebalance in one go, exit 10 when replaced."""
    plan = _plan(tmp_path)
    units = tmp_path / "units"
    units.mkdir()
    r = run_flyer(
        "eplb",
        "rebalance",
        "--current",
        str(plan),
        "--collect-from",
        sglang.url,
        "--dump-dir",
        str(sglang.dump_dir),
        "--seconds",
        "0.3",
        "--min-gain",
        "0",
        "--replaced-exit",
        "10",
        "--systemd",
        str(units),
        "--on-calendar",
        "*:0/15",
    )
    assert r.returncode == 0, r.stderr
    service = (units / "flyer-eplb-rebalance.service").read_text()
    timer = (units / "flyer-eplb-rebalance.timer").read_text()
    assert "OnCalendar=*:0/15" in timer and "SuccessExitStatus=75 10" in service
    exec_start = next(ln for ln in service.splitlines() if ln.startswith("ExecStart="))
    if shutil.which("systemd-analyze"):
        v = subprocess.run(
            ["systemd-analyze", "verify", str(units / "flyer-eplb-rebalance.service")],
            capture_output=True,
            text=True,
        )
        assert "ExecStart" not in v.stderr, v.stderr
    argv = shlex.split(exec_start.removeprefix("ExecStart=").replace("%%", "%").replace("$$", "$"))
    assert argv[0].startswith("/") and "--systemd" not in argv
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd="/")
    assert ran.returncode == 10, ran.stderr
    assert ran.stdout.startswith("collected ") and "\nreplaced " in ran.stdout
    assert (tmp_path / "plan.load.pt").exists()
