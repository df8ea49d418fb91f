"""Cluster health from admin_cli's `list-nodes`, `list-targets` and `list-chains` output.

admin_cli prints each table as rows of left-aligned columns, every column as wide as its longest cell plus
two spaces, the last one unpadded; cells may hold spaces (heartbeat times), so columns are cut at the
header's positions, never split on whitespace. A target is healthy only when SERVING and UPTODATE.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..gates import Check
from ..io import LIMITS, read_bytes
from .reports import ChainCounts, HealthReport, HostHealth, NodeCounts, TargetCounts

NODE_OK = {"PRIMARY_MGMTD", "HEARTBEAT_CONNECTED"}
NODE_WAIT = {"HEARTBEAT_CONNECTING"}


COLUMNS = {
    "list-nodes": ("Id", ("Id", "Type", "Status", "Hostname"), ()),
    "list-targets": (
        "TargetId",
        ("TargetId", "ChainId", "PublicState", "LocalState", "NodeId", "DiskIndex"),
        (),
    ),
    "list-chains": ("ChainId", ("ChainId", "Status"), ("Target",)),
}
"""listing -> (its first column, the columns assess reads, the columns that may repeat)."""


def parse_table(
    text: str,
    first: str,
    *,
    what: str = "admin_cli output",
    file: str | None = None,
    columns: tuple[str, ...] = (),
    repeat: tuple[str, ...] = ("Target",),
) -> list[dict[str, str]]:
    """Rows of an admin_cli table whose header starts with ``first``; repeated column names (list-chains'
    Target columns, ``repeat``) become lists. Refuses admin_cli's error message, a missing header, a
    missing one of ``columns`` and any other column named twice (InputError naming ``file`` or ``what``)."""
    where = file or what
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Encounter error:"):
            detail = " ".join(x.strip() for x in lines[i : i + 2])
            raise InputError(f"admin_cli failed: {detail}", file=where)
        if line.split()[:1] == [first]:
            break
    else:
        raise InputError(
            f"no table with a {first} column", file=where, hint="pass admin_cli's output unchanged"
        )
    header = lines[i]
    cols = [(m.group(0), m.start()) for m in re.finditer(r"\S+", header)]
    names = [name for name, _ in cols]
    expected = f"expected {what}'s columns {', '.join(columns or (first,))}"
    twice = next((n for n in names if names.count(n) > 1 and n not in repeat), None)
    if twice:
        raise InputError(f"the column {twice} appears twice; {expected} once each", file=where)
    for name in columns:
        if name not in names:
            raise InputError(
                f"no {name} column; {expected}", file=where, hint="pass admin_cli's output unchanged"
            )
    rows = []
    for line in lines[i + 1 :]:
        if not line.strip():
            continue
        row: dict = {}
        for j, (name, start) in enumerate(cols):
            end = cols[j + 1][1] if j + 1 < len(cols) else None
            cell = line[start:end].strip()
            if name in row:
                if not isinstance(row[name], list):
                    row[name] = [row[name]]
                if cell:
                    row[name].append(cell)
            else:
                row[name] = cell
        rows.append(row)
    return rows


@dataclass
class Health:
    nodes: list[dict]
    targets: list[dict]
    chains: list[dict]
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def checks(self) -> list[Check]:
        """The status gate as JUnit testcases: one per node, target and chain (a node still connecting
        passes, as it only warns), and one for the presence of targets."""

        def one(group: str, name: str, state: str, ok: bool) -> Check:
            return Check(
                name=name, classname=f"fs3.status.{group}", passed=ok, message="" if ok else f"is {state}"
            )

        out = [
            one(
                "nodes",
                f"node {r['Id']} ({r['Type']} on {r['Hostname']})",
                r.get("Status", ""),
                r.get("Status", "") in NODE_OK | NODE_WAIT,
            )
            for r in self.nodes
        ]
        for r in self.targets:
            state = f"{r['PublicState']}/{r['LocalState']}"
            name = f"target {r['TargetId']} (chain {r['ChainId']}, node {r['NodeId']}, disk {r['DiskIndex']})"
            out.append(one("targets", name, state, state == "SERVING/UPTODATE"))
        out += [
            one("chains", f"chain {r['ChainId']}", r["Status"], r["Status"] == "SERVING") for r in self.chains
        ]
        if not self.targets:
            out.append(one("targets", "targets exist", "empty: no targets", False))
        return out

    def summary(self) -> HealthReport:
        def count(keys: list[str]) -> dict[str, int]:
            out: dict[str, int] = {}
            for k in keys:
                out[k] = out.get(k, 0) + 1
            return dict(sorted(out.items()))

        states = [f"{t['PublicState']}/{t['LocalState']}" for t in self.targets]
        return HealthReport(
            ok=self.ok,
            nodes=NodeCounts(len(self.nodes), count([r["Status"] for r in self.nodes])),
            targets=TargetCounts(len(self.targets), count(states)),
            chains=ChainCounts(len(self.chains), count([r["Status"] for r in self.chains])),
            failures=self.failures,
            warnings=self.warnings,
            node_rows=self.nodes,
            hosts=self.hosts(),
        )

    def hosts(self) -> list[HostHealth]:
        """One record per host (list-nodes' Hostname; targets on a node it does not show go to ``node ID``,
        state MISSING), in natural order of names (storage2 before storage10)."""
        host_of = {str(r["Id"]): str(r["Hostname"]) for r in self.nodes}
        by: dict[str, HostHealth] = {}
        for r in self.nodes:
            h = by.setdefault(
                str(r["Hostname"]),
                HostHealth(host=str(r["Hostname"]), services=[], state="OK", targets=0, targets_ok=0),
            )
            h.services.append(str(r["Type"]))
            if r.get("Status") not in NODE_OK and h.state == "OK":
                h.state = str(r.get("Status") or "UNKNOWN")
        for t in self.targets:
            name = host_of.get(str(t["NodeId"]), f"node {t['NodeId']}")
            h = by.setdefault(
                name, HostHealth(host=name, services=[], state="MISSING", targets=0, targets_ok=0)
            )
            h.targets += 1
            h.targets_ok += t["PublicState"] == "SERVING" and t["LocalState"] == "UPTODATE"
        return sorted(by.values(), key=lambda h: natural(h.host))


def assess(nodes: str, targets: str, chains: str, *, files: dict[str, str] | None = None) -> Health:
    """Health of a cluster from the three listings (admin_cli's output, unchanged); ``files`` names the file
    each listing was read from (``list-nodes`` -> path), for errors."""

    def table(text: str, what: str) -> list[dict]:
        first, columns, repeat = COLUMNS[what]
        return parse_table(
            text, first, what=what, file=(files or {}).get(what), columns=columns, repeat=repeat
        )

    n = table(nodes, "list-nodes")
    t = table(targets, "list-targets")
    c = table(chains, "list-chains")
    h = Health(n, t, c)
    for row in n:
        st = row.get("Status", "")
        if st in NODE_WAIT:
            h.warnings.append(f"node {row['Id']} ({row['Type']} on {row['Hostname']}) is {st}")
        elif st not in NODE_OK:
            h.failures.append(f"node {row['Id']} ({row['Type']} on {row['Hostname']}) is {st}")
        cfg = row.get("ConfigVersion", "")
        if cfg.endswith(("(DIRTY)", "(FAILED)")):
            h.warnings.append(f"node {row['Id']} ({row['Type']}) config {cfg}")
    for row in t:
        if row["PublicState"] != "SERVING" or row["LocalState"] != "UPTODATE":
            h.failures.append(
                f"target {row['TargetId']} (chain {row['ChainId']}, node {row['NodeId']}, "
                f"disk {row['DiskIndex']}) "
                f"is {row['PublicState']}/{row['LocalState']}"
            )
    for row in c:
        if row["Status"] != "SERVING":
            h.failures.append(f"chain {row['ChainId']} is {row['Status']}")
    if not t:
        h.failures.append("no targets: create them (admin_cli create-target) and upload the chains")
    return h


LISTINGS = ("list-nodes", "list-targets", "list-chains")


def natural(name: str) -> tuple[tuple[int, str | int], ...]:
    """Sort key: the digits in a name compare as numbers (storage2 < storage10)."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"(\d+)", name) if p)


def assess_saved(directory: str | os.PathLike) -> Health:
    """Health from listings saved in ``directory`` as list-nodes.txt, list-targets.txt, list-chains.txt.

    Example: ``assess_saved("saved-listings").summary()``
    """
    files = {k: str(Path(directory) / f"{k}.txt") for k in LISTINGS}
    texts = [
        read_bytes(f, what="admin_cli listing", limit=LIMITS["listing"]).decode("utf-8", "replace")
        for f in files.values()
    ]
    return assess(*texts, files=files)
