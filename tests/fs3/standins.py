# ruff: noqa: E501  (the stand-ins are scripts inside strings, kept readable as scripts)
"""Stand-ins for 3FS's executables in the deploy tests (3FS cannot be built here).

They are NOT 3FS: each service stand-in registers itself and sleeps until stopped; the admin_cli stand-in
keeps the cluster's state in a JSON file and prints its listings in admin_cli's real table format (columns
as wide as their longest cell plus two spaces, the last one unpadded; see 3FS's Printer.cc) with the
columns of ListNodes.cc, ListTargets.cc and ListChains.cc.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path


def admin_table(rows: list[list[str]]) -> str:
    """Rows as admin_cli prints them (3FS src/client/cli/common/Printer.cc)."""
    widths: list[int] = []
    for r in rows:
        widths += [0] * (len(r) - len(widths))
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell) + 2)
    out = []
    for r in rows:
        s = ""
        for i, cell in enumerate(r):
            s += cell + (" " * (widths[i] - len(cell)) if i + 1 < len(r) else "")
        out.append(s)
    return "\n".join(out) + "\n"


SERVICE = r"""#!{python}
# STAND-IN for a 3FS service (not 3FS): registers itself, then sleeps until stopped.
import json, os, signal, sys, time
state = {state!r}
args = sys.argv[1:]
app = args[args.index("--app-cfg") + 1] if "--app-cfg" in args else None
node_id = 0
if app:
    for line in open(app):
        if line.startswith("node_id"):
            node_id = int(line.split("=")[1])
cfg = args[args.index("--launcher_cfg") + 1] if "--launcher_cfg" in args else args[args.index("--cfg") + 1]
host = cfg.split("/opt/3fs")[0].rstrip("/").rsplit("/", 1)[-1] or "root"
if os.path.exists(os.path.join(state, f"fail-start-{{host}}")):  # a fault injected by the test
    print(f"{{sys.argv[0]}}: cannot start (injected by the test)", file=sys.stderr)
    sys.exit(1)
reg = os.path.join(state, "nodes", f"{{os.getpid()}}.json")
os.makedirs(os.path.dirname(reg), exist_ok=True)
json.dump({{"type": {kind!r}, "node_id": node_id, "host": host, "pid": os.getpid()}}, open(reg, "w"))
def bye(*_):
    try:
        os.unlink(reg)
    finally:
        sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True:
    time.sleep(60)
"""

ADMIN_CLI = r"""#!{python}
# STAND-IN for 3FS's admin_cli (not 3FS): keeps cluster state in a JSON file, prints real-format tables.
import json, os, shlex, sys, time
state_dir = {state!r}
sys.path.insert(0, {here!r})
from standins import admin_table
path = os.path.join(state_dir, "admin.json")
st = json.load(open(path)) if os.path.exists(path) else {{"targets": [], "chains": [], "config": {{}}}}
args = sys.argv[1:]
token = None
if "--config.user_info.token" in args:
    token = args[args.index("--config.user_info.token") + 1]
cmds = [a for a in args if " " in a or a in ("list-nodes", "list-targets", "list-chains")]
if not cmds:
    cmds = [ln.strip() for ln in sys.stdin if ln.strip()]
def fail(msg):
    print(f"Encounter error: 1001(StatusCode::kInvalidArg)\n{{msg}}")
    sys.exit(1)
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
def nodes():
    out = []
    d = os.path.join(state_dir, "nodes")
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        n = json.load(open(os.path.join(d, f)))
        if alive(n["pid"]):
            out.append(n)
    return out
for line in cmds:
    a = shlex.split(line)
    c = a[0]
    if c in ("create-target", "upload-chains", "upload-chain-table") and token != st.get("token"):
        fail("Token validate failed")
    if os.path.exists(os.path.join(state_dir, "fail-" + c)):
        fail(f"{{c}} failed (injected by the test)")
    if c == "init-cluster":
        st["init"] = a[1:]
    elif c == "set-config":
        st["config"][a[a.index("--type") + 1]] = open(a[a.index("--file") + 1]).read()
    elif c == "user-add":
        st["token"] = "AADsPrBtF9lFbRfMIZ3gJ3rp"
        print(admin_table([["Uid", "0"], ["Name", "root"], ["Token", st["token"] + "(Expired at N/A)"],
                           ["IsRootUser", "true"], ["IsAdmin", "true"], ["Gid", "0"], ["SupplementaryGids", ""]]), end="")
    elif c == "create-target":
        st["targets"].append({{"node": int(a[a.index("--node-id") + 1]), "disk": int(a[a.index("--disk-index") + 1]),
                              "target": int(a[a.index("--target-id") + 1]), "chain": int(a[a.index("--chain-id") + 1])}})
        print(f"Create target {{st['targets'][-1]['target']}} succeeded")
    elif c == "upload-chains":
        rows = [r.split(",") for r in open(a[1]).read().split()[1:]]
        st["chains"] = [[int(x) for x in r] for r in rows]
    elif c == "upload-chain-table":
        st["table"] = a[-1]
    elif c == "list-nodes":
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        rows = [["Id", "Type", "Status", "Hostname", "Pid", "Tags", "LastHeartbeatTime", "ConfigVersion", "ReleaseVersion"]]
        for n in sorted(nodes(), key=lambda n: ("MGMTD", "META", "STORAGE", "FUSE").index(n["type"]) if n["type"] in ("MGMTD", "META", "STORAGE", "FUSE") else 9):
            if n["type"] in ("MGMTD", "META", "STORAGE"):
                status = "PRIMARY_MGMTD" if n["type"] == "MGMTD" else "HEARTBEAT_CONNECTED"
                rows.append([str(n["node_id"]), n["type"], status, n["host"], str(n["pid"]), "[]", ts, "1(UPTODATE)",
                             "250228-dev-1-999999-923bdd7c"])
        print(admin_table(rows), end="")
    elif c in ("list-targets", "list-chains"):
        up = {{n["node_id"] for n in nodes() if n["type"] == "STORAGE"}}
        made = {{t["target"]: t for t in st["targets"]}}
        def state_of(tid):
            t = made.get(tid)
            return ("SERVING", "UPTODATE") if t and t["node"] in up else ("OFFLINE", "OFFLINE")
        if c == "list-targets":
            rows = [["TargetId", "ChainId", "Role", "PublicState", "LocalState", "NodeId", "DiskIndex", "UsedSize"]]
            for ch in st["chains"]:
                for i, tid in enumerate(ch[1:]):
                    role = "HEAD" if i == 0 else ("TAIL" if i == len(ch) - 2 else "MIDDLE")
                    t = made.get(tid, {{"node": 0, "disk": 0}})
                    rows.append([str(tid), str(ch[0]), role, *state_of(tid), str(t["node"]), str(t["disk"]), "0"])
        else:
            k = max((len(ch) - 1 for ch in st["chains"]), default=0)
            rows = [["ChainId", "ReferencedBy", "ChainVersion", "Status", "PreferredOrder", *(["Target"] * k)]]
            for ch in st["chains"]:
                sts = [state_of(t) for t in ch[1:]]
                serving = sum(s[0] == "SERVING" for s in sts)
                status = "SERVING" if serving == len(sts) else ("UNAVAILABLE" if serving == 0 else f"SERVING({{serving}}/{{len(sts)}})")
                rows.append([str(ch[0]), "1", "1", status, "[]", *[f"{{t}}({{s[0]}}-{{s[1]}})" for t, s in zip(ch[1:], sts)]])
        print(admin_table(rows), end="")
    else:
        fail(f"unknown command {{c}}")
json.dump(st, open(path, "w"))
"""

CLICKHOUSE = r"""#!/bin/sh
# STAND-IN for clickhouse-client (not ClickHouse): keeps the SQL it was given.
cat > {state}/clickhouse.sql
printf %s "$CLICKHOUSE_PASSWORD" > {state}/clickhouse.password
"""

KINDS = {
    "mgmtd_main": "MGMTD",
    "meta_main": "META",
    "storage_main": "STORAGE",
    "hf3fs_fuse_main": "FUSE",
    "monitor_collector_main": "MONITOR",
}


def make(bin_dir: Path, state: Path) -> None:
    """Write the stand-ins into ``bin_dir``; their shared state lives in ``state``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    files = {
        name: SERVICE.format(python=sys.executable, state=str(state), kind=kind)
        for name, kind in KINDS.items()
    }
    files["admin_cli"] = ADMIN_CLI.format(
        python=sys.executable, state=str(state), here=str(Path(__file__).parent)
    )
    files["clickhouse-client"] = CLICKHOUSE.format(state=str(state))
    for name, text in files.items():
        p = bin_dir / name
        p.write_text(text)
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.chmod(state, 0o777)
