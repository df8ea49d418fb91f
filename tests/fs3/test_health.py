"""status: admin_cli's listings in their real format (3FS's Printer.cc, ListNodes.cc, ListTargets.cc,
ListChains.cc) into a health verdict."""

from __future__ import annotations

import json

import pytest

from fireflyer.errors import InputError
from fireflyer.fs3 import assess, parse_table
from tests.conftest import run_flyer

from .standins import admin_table

NODES = admin_table(
    [
        [
            "Id",
            "Type",
            "Status",
            "Hostname",
            "Pid",
            "Tags",
            "LastHeartbeatTime",
            "ConfigVersion",
            "ReleaseVersion",
        ],
        [
            "1",
            "MGMTD",
            "PRIMARY_MGMTD",
            "meta",
            "2281",
            "[]",
            "N/A",
            "1(UPTODATE)",
            "250228-dev-1-999999-923bdd7c",
        ],
        [
            "100",
            "META",
            "HEARTBEAT_CONNECTED",
            "meta",
            "2395",
            "[]",
            "2025-03-01 10:41:10",
            "1(UPTODATE)",
            "250228-dev-1-999999-923bdd7c",
        ],
        [
            "10001",
            "STORAGE",
            "HEARTBEAT_CONNECTED",
            "storage1",
            "1957",
            "[]",
            "2025-03-01 10:41:11",
            "2(UPTODATE)",
            "250228-dev-1-999999-923bdd7c",
        ],
        [
            "10002",
            "STORAGE",
            "HEARTBEAT_CONNECTED",
            "storage2",
            "1960",
            "[]",
            "2025-03-01 10:41:11",
            "2(UPTODATE)",
            "250228-dev-1-999999-923bdd7c",
        ],
    ]  # fmt: skip
)
TARGET_ROWS = [
    ["TargetId", "ChainId", "Role", "PublicState", "LocalState", "NodeId", "DiskIndex", "UsedSize"],
    ["101000100101", "900100001", "HEAD", "SERVING", "UPTODATE", "10001", "0", "0"],
    ["101000200101", "900100001", "TAIL", "SERVING", "UPTODATE", "10002", "0", "0"],
]
TARGETS = admin_table(TARGET_ROWS)
OFFLINE = admin_table(
    [*TARGET_ROWS[:2], ["101000200101", "900100001", "TAIL", "OFFLINE", "OFFLINE", "10002", "0", "0"]]
)
CHAINS = admin_table(
    [
        ["ChainId", "ReferencedBy", "ChainVersion", "Status", "PreferredOrder", "Target", "Target"],
        [
            "900100001",
            "1",
            "1",
            "SERVING",
            "[]",
            "101000100101(SERVING-UPTODATE)",
            "101000200101(SERVING-UPTODATE)",
        ],
    ]
)


def test_columns_cut_at_header_positions():
    rows = parse_table(NODES, "Id")
    assert rows[1]["LastHeartbeatTime"] == "2025-03-01 10:41:10"  # a cell with a space
    assert rows[0]["ReleaseVersion"] == "250228-dev-1-999999-923bdd7c"
    chains = parse_table(CHAINS, "ChainId")
    assert chains[0]["Target"] == ["101000100101(SERVING-UPTODATE)", "101000200101(SERVING-UPTODATE)"]


def test_healthy():
    h = assess(NODES, TARGETS, CHAINS)
    assert h.ok and h.summary().targets.by_state == {"SERVING/UPTODATE": 2}


def test_a_target_not_serving_fails():
    h = assess(NODES, OFFLINE, CHAINS)
    assert not h.ok
    assert any("target 101000200101" in f and "OFFLINE/OFFLINE" in f for f in h.failures)


@pytest.mark.parametrize("state", ["SYNCING", "WAITING", "LASTSRV"])
def test_syncing_or_waiting_is_a_failure(state):
    rows = [["TargetId", "ChainId", "Role", "PublicState", "LocalState", "NodeId", "DiskIndex", "UsedSize"],
            ["101000100101", "900100001", "HEAD", state, "ONLINE", "10001", "0", "0"]]  # fmt: skip
    assert not assess(NODES, admin_table(rows), CHAINS).ok


def test_node_down_and_admin_errors():
    down = NODES.replace("HEARTBEAT_CONNECTED  storage2", "HEARTBEAT_FAILED     storage2")
    assert down != NODES
    h = assess(down, TARGETS, CHAINS)
    assert any("10002" in f and "HEARTBEAT_FAILED" in f for f in h.failures)
    with pytest.raises(InputError, match="admin_cli failed"):
        parse_table("Encounter error: 2011(MgmtdClient::kPrimaryMgmtdNotFound)\nno primary\n", "Id")
    with pytest.raises(InputError, match="no table"):
        parse_table("hello\n", "Id")


def test_status_cli_from_saved_listings(tmp_path):
    for name, text in (("list-nodes", NODES), ("list-targets", TARGETS), ("list-chains", CHAINS)):
        (tmp_path / f"{name}.txt").write_text(text)
    res = run_flyer("fs3", "status", "--from", str(tmp_path), "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["ok"]
    (tmp_path / "list-targets.txt").write_text(OFFLINE)
    res = run_flyer("fs3", "status", "--from", str(tmp_path))
    assert res.returncode == 1 and "FAIL target 101000200101" in res.stdout
    assert res.stderr.startswith("flyer: error:") and len(res.stderr.strip().splitlines()) == 1
