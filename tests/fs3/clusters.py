"""Cluster descriptions for the fs3 tests, written as YAML files a user would write."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_cluster(
    tmp: Path,
    *,
    storage: int = 3,
    disks: int = 2,
    roots: dict[str, str] | None = None,
    ssh: dict | None = None,
    extra: dict | None = None,
    bin_dir: str = "bin",
    name: str = "cluster.yaml",
) -> Path:
    """A cluster of one meta node (mgmtd, meta, monitor, fuse) and ``storage`` storage nodes."""
    (tmp / "fdb.cluster").write_text("test:test@127.0.0.1:4500\n")
    nodes = [{"name": "meta", "host": "10.0.0.1", "roles": ["mgmtd", "meta", "monitor", "fuse", "fdb"]}]
    nodes += [
        {"name": f"storage{i}", "host": f"10.0.0.{i + 1}", "roles": ["storage"]}
        for i in range(1, storage + 1)
    ]
    for n in nodes:
        if roots and n["name"] in roots:
            n["root"] = roots[n["name"]]
    doc = {
        "cluster_id": "stage",
        "release": {"bin_dir": bin_dir},
        "foundationdb": {"cluster_file": "fdb.cluster"},
        "monitor": {"clickhouse": {"host": "10.0.0.1"}},
        "storage": {
            "disks": [{"path": f"/storage/data{i}"} for i in range(1, disks + 1)],
            "min_targets_per_disk": 2,
            "stripe_size": 4,
        },
        "nodes": nodes,
    }
    if ssh:
        doc["ssh"] = ssh
    for k, v in (extra or {}).items():
        doc[k] = v
    path = tmp / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def edit(path: Path, fn) -> Path:
    """Change the description at ``path`` in place: ``fn`` edits its parsed document."""
    doc = yaml.safe_load(path.read_text())
    fn(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
