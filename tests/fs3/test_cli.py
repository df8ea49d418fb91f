"""flyer fs3 as a user runs it: plan chains, plan add-nodes, init, render; bad input in one line."""

from __future__ import annotations

import json

from tests.conftest import run_flyer, run_json


def test_plan_chains_guide_example(tmp_path):
    d = run_json("fs3", "plan", "chains", "--nodes", "5", "--replication", "3", "--min-targets-per-disk", "6",
                 "--disks", "16", "--out", str(tmp_path))  # fmt: skip
    assert d["chains"] == 160 and d["targets"] == 480 and d["balanced"]
    assert d["pair_count_histogram"] == {"3": 10} and d["first_chain"]["chain_id"] == 900100001
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "create_target_cmd.txt", "generated_chain_table.csv", "generated_chains.csv", "remove_target_cmd.txt",
    ]  # fmt: skip
    human = run_flyer("fs3", "plan", "chains", "--nodes", "25", "--min-targets-per-disk", "12")
    assert human.returncode == 0 and "every pair shares 1 chains" in human.stdout


def test_plan_chains_is_deterministic():
    a = run_flyer("fs3", "plan", "chains", "--nodes", "16", "--json").stdout
    b = run_flyer("fs3", "plan", "chains", "--nodes", "16", "--json").stdout
    strip = lambda s: {k: v for k, v in json.loads(s).items() if k != "seconds"}  # noqa: E731
    assert strip(a) == strip(b)


def test_plan_add_nodes(tmp_path):
    run_json("fs3", "plan", "chains", "--nodes", "5", "--min-targets-per-disk", "6", "--disks", "2", "--out",
             str(tmp_path / "now"))  # fmt: skip
    d = run_json("fs3", "plan", "add-nodes", str(tmp_path / "now" / "generated_chains.csv"), "--add", "1",
                 "--out", str(tmp_path / "grow"))  # fmt: skip
    assert d["balanced"] and d["new_node_ids"] == [10006] and d["targets_moved"] == 2 * d["moved"]
    assert (tmp_path / "grow" / "migrate_cmd.txt").read_text().startswith("update-chain --mode add")
    before = (tmp_path / "now" / "generated_chains.csv").read_bytes()
    r = run_flyer("fs3", "plan", "add-nodes", str(tmp_path / "now" / "generated_chains.csv"), "--add", "1",
                  "--out", str(tmp_path / "now"))  # fmt: skip
    assert r.returncode == 2 and "would replace the input" in r.stderr, r.stderr
    assert (tmp_path / "now" / "generated_chains.csv").read_bytes() == before


def test_init_writes_an_example_that_renders(tmp_path):
    path = tmp_path / "cluster.yaml"
    assert run_flyer("fs3", "init", str(path)).returncode == 0
    again = run_flyer("fs3", "init", str(path))
    assert again.returncode == 2 and "--force" in again.stderr
    (tmp_path / "fdb.cluster").write_text("a:b@127.0.0.1:4500\n")
    d = run_json("fs3", "render", str(path), "--out", str(tmp_path / "out"))
    assert d["layout"]["chains_per_disk"] == 10 and d["admin_node"] == "meta"
    assert (
        tmp_path / "out" / "storage5" / "opt/3fs/etc/storage_main_app.toml"
    ).read_text() == "node_id = 10005\n"


def test_bad_input_is_one_line(tmp_path):
    cases = [
        (["fs3", "plan", "chains", "--nodes", "2"], "at least 3 storage nodes"),
        (["fs3", "plan", "chains", "--nodes", "5", "--targets-per-disk", "4"], "multiple of the replication"),
        (["fs3", "plan", "chains"], "--nodes"),
        (["fs3", "render", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")], "not found"),
        (["fs3", "preflight"], "--local"),
        (["fs3", "teardown", str(tmp_path / "x.yaml")], "--yes"),
        # Sizes before work: the table's memory is estimated from the options and refused before the search.
        (
            ["fs3", "plan", "chains", "--nodes", "3000", "--min-targets-per-disk", "99", "--disks", "999"],
            "GiB",
        ),
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster_id: [unclosed\n")
    cases.append((["fs3", "render", str(bad), "--out", str(tmp_path / "o")], "not valid YAML"))
    for args, needle in cases:
        res = run_flyer(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1, (args, res.stderr)


def test_missing_ssh_key_or_binaries(tmp_path):
    from .clusters import write_cluster

    path = write_cluster(tmp_path, ssh={"key": "no-such-key"})
    res = run_flyer("fs3", "deploy", str(path), "--dry-run")
    assert res.returncode == 2 and "ssh.key" in res.stderr and "not found" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    path = write_cluster(tmp_path, name="nobin.yaml", bin_dir="no-such-dir")
    res = run_flyer("fs3", "deploy", str(path), "--dry-run")
    assert res.returncode == 2 and "release.bin_dir" in res.stderr and "admin_cli" in res.stderr
