"""Hostile and careless inputs to `flyer eplb`, by class: each exits 2 with one line naming the file (and the
field and value where there is one), before allocating what the file claims and before writing anything."""

import json
import os
import time

import numpy as np
import pytest
import safetensors.numpy
import torch
import yaml

from fireflyer import eplb
from fireflyer.errors import InputError

from .helpers import cli, zipf_loads

L, E, S = 4, 16, 24  # layers, experts, slots
P2L = np.tile(np.arange(S) % E, (L, 1))
HUGE = 10**12
V3 = ["--model", "deepseek-v3", "--nodes", "4", "--gpus", "32"]


def refused(r, *words):
    """Exit 2, one line on stderr, saying each of ``words``."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stdout == "", r.stderr
    for w in words:
        assert str(w) in r.stderr, (w, r.stderr)


def statistics(d, ranks=2, keys=None):
    """A TensorRT-LLM statistics directory (as its ExpertStatistic writes it): meta_info.json and
    rankN.safetensors holding a [E] count per {iteration}_{layer}; ``keys(rank)`` picks each rank's keys."""
    d.mkdir()
    (d / "meta_info.json").write_text(json.dumps({"num_experts": E, "num_experts_per_token": 2}))
    full = [f"{i}_{layer}" for i in (100, 101) for layer in range(3, 3 + L)]
    for r in ranks if isinstance(ranks, list) else range(ranks):
        tensors = {k: np.ones(E, np.int64) for k in (keys(r) if keys else full)}
        (d / f"rank{r}.safetensors").write_bytes(safetensors.numpy.save(tensors))
    return d


# ---- 1. an output never replaces an input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "{d}", "--out", "{d}/meta_info.json"],
        ["plan", "{d}/rank0.safetensors", "--out", "{d}/meta_info.json"],
        ["plan", "{d}/meta_info.json", "--out", "{d}/meta_info.json"],
        ["rebalance", "--load", "{d}", "--current", "{d}/plan.json"],
    ],
    ids=["dir", "rank-file", "meta-file", "rebalance"],
)
def test_an_output_never_replaces_an_input(tmp_path, args):
    d = statistics(tmp_path / "expert_statistic")
    eplb.write_plan(
        eplb.plan(zipf_loads(L, E, 0.8, seed=1), S, 1, 1, 8, layer_ids=range(3, 3 + L)), d / "plan.json"
    )
    before = {f.name: f.read_bytes() for f in d.iterdir()}
    r = cli("eplb", *(a.format(d=d) for a in args), "--gpus", "8", "--nodes", "1")
    refused(r, "input")
    assert {f.name: f.read_bytes() for f in d.iterdir()} == before


# ---- 2. ids are checked against what the file can hold, before allocating ---------------------------------


def _native(path, **change):
    doc = {"physical_to_logical_map": P2L.tolist(), "layer_ids": list(range(3, 3 + L)), "meta": {"gpus": 8}}
    for k, v in change.items():
        if k == "meta":
            doc["meta"].update(v)
        else:
            doc[k] = v
    path.write_text(json.dumps(doc))


def _with(a, index, value):
    a = a.copy()
    a[index] = value
    return a


PLANS = {
    "native-expert": (lambda p: _native(p, physical_to_logical_map=_with(P2L, (0, 0), HUGE).tolist()), HUGE),
    "native-meta-experts": (lambda p: _native(p, meta={"experts": HUGE}), HUGE),
    "native-layer-id": (lambda p: _native(p, layer_ids=[3, 4, 5, HUGE]), HUGE),
    "native-decoder-layers": (lambda p: _native(p, meta={"decoder_layers": HUGE}), HUGE),
    "native-groups-text": (lambda p: _native(p, meta={"groups": "8"}), "'8'"),
    "native-groups-2**70": (lambda p: _native(p, meta={"groups": 2**70}), 2**70),
    "native-hierarchical-text": (lambda p: _native(p, meta={"hierarchical": "no"}), "'no'"),
    "sglang-pt-expert": (
        lambda p: torch.save({"physical_to_logical_map": torch.from_numpy(_with(P2L, (1, 2), HUGE))}, p),
        HUGE,
    ),
    "trtllm-layer-key": (
        lambda p: p.write_text(
            yaml.safe_dump({"num_slots": S, "initial_global_assignments": {HUGE: P2L[0].tolist()}})
        ),
        HUGE,
    ),
    "trtllm-expert": (
        lambda p: p.write_text(
            yaml.safe_dump(
                {"num_slots": S, "initial_global_assignments": {3: _with(P2L[0], 0, HUGE).tolist()}}
            )
        ),
        HUGE,
    ),
}


@pytest.mark.parametrize("case", PLANS)
def test_plan_ids_are_checked_before_allocating(tmp_path, case):
    make, value = PLANS[case]
    path = tmp_path / ("p.pt" if "pt" in case else "p.yaml" if "trtllm" in case else "p.json")
    make(path)
    with pytest.raises(InputError) as e:
        eplb.read_plan(path, gpus=None if case.startswith("native") else 8)
    assert e.value.file == str(path) and e.value.field and str(value) in e.value.message


def test_a_damaged_replica_order_is_rebuilt(tmp_path):
    """logical_to_all_physical_map is only an order: one that is not a valid order is rebuilt, not fatal."""
    for bad in ([[[2**100]]], "x", [[[-7] * 9] * E] * L):
        _native(tmp_path / "p.json", logical_to_all_physical_map=bad)
        assert eplb.read_plan(tmp_path / "p.json").log2phy.shape[:2] == (L, E)


MAPS = {
    "sglang-per-pass": lambda m: {
        "records": [{"global_physical_count": torch.ones(L, S, dtype=torch.int32)}],
        "last_physical_to_logical_map": m,
    },
    "vllm-window": lambda m: {"expert_load_window": torch.ones(2, L, S), "physical_to_logical_map": m},
}


@pytest.mark.parametrize("value", [HUGE, -5])
@pytest.mark.parametrize("engine", MAPS)
def test_load_maps_are_checked_before_allocating(tmp_path, engine, value):
    path = tmp_path / "d.pt"
    torch.save(MAPS[engine](torch.from_numpy(_with(P2L, (2, 0), value))), path)
    r = cli("eplb", "plan", path, "--gpus", "8")
    refused(r, path, "physical_to_logical_map", value)


def test_statistics_layer_ids_are_bounded(tmp_path):
    d = statistics(tmp_path / "s", keys=lambda r: ["100_3", f"100_{HUGE}"])
    refused(cli("eplb", "plan", d), "rank0.safetensors", f"100_{HUGE}", "out of range")


def test_an_sglang_table_is_bounded(tmp_path):
    p = eplb.plan(zipf_loads(1, E, 0.8, seed=1), S, 1, 1, 8, layer_ids=[eplb.MAX_LAYERS])
    with pytest.raises(InputError, match="decoder layer"):
        eplb.write_plan(p, tmp_path / "s.json", "sglang")


# ---- 3. engine statistics are exactly shaped and complete --------------------------------------------------


@pytest.mark.parametrize("shape", [(1, S), (), (2, L, S), (L, S - 1)], ids=["row", "0-d", "3-d", "slots"])
def test_per_pass_records_are_shaped_as_the_map(tmp_path, shape):
    """SGLang 0.5.23 records [layers, slots] per pass; a record of another shape would broadcast."""
    good = torch.ones(L, S, dtype=torch.int32)
    bad = torch.ones(shape, dtype=torch.int32)
    records = [{"global_physical_count": good}, {"global_physical_count": bad}]
    path = tmp_path / "d.pt"
    torch.save({"records": records, "last_physical_to_logical_map": torch.from_numpy(P2L)}, path)
    refused(cli("eplb", "plan", path), path, "records[1].global_physical_count", list(shape), [L, S])


def test_a_vllm_window_is_window_by_map(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(
        {"expert_load_window": torch.ones(L, S), "physical_to_logical_map": torch.from_numpy(P2L)}, path
    )
    refused(cli("eplb", "plan", path), path, "expert_load_window", f"[window, {L}, {S}]")


@pytest.mark.parametrize(
    "keys, missing",
    [
        (lambda r: [f"{i}_{layer}" for i in (100, 101) for layer in range(3, 3 + L - r)], "_6"),
        (lambda r: [f"{i}_{layer}" for i in (100, 101)[: 2 - r] for layer in range(3, 3 + L)], "101_"),
    ],
    ids=["a-layer", "an-iteration"],
)
def test_every_rank_holds_the_same_counts(tmp_path, keys, missing):
    d = statistics(tmp_path / "s", keys=keys)
    refused(cli("eplb", "plan", d), "rank1.safetensors", missing, "lacks")


def test_no_rank_file_is_missing(tmp_path):
    d = statistics(tmp_path / "s", ranks=[0, 2])
    refused(cli("eplb", "plan", d), "rank1.safetensors is missing")


# ---- 4. integers that reach the core are range-checked where they are parsed -----------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("--gpus", "-1"),
        ("--gpus", str(2**32 + 32)),
        ("--groups", str(2**32 + 8)),
        ("--nodes", "0"),
        ("--slots", str(2**31)),
        ("--first-moe-layer", "-1"),
        ("--expert-bytes", "-1"),
    ],
)
def test_integers_for_the_core_are_in_range(option, value):
    refused(cli("eplb", "plan", option, value), option, value)


def test_the_core_refuses_counts_it_would_truncate():
    """groups 2**32 + 8 would be truncated to 8 in the core's 32-bit layout: a plan for another layout."""
    with pytest.raises(InputError, match="groups"):
        eplb.plan(np.ones((2, 256), np.float32), 288, 2**32 + 8, 4, 32)


def test_max_moves_is_not_negative(tmp_path):
    refused(
        cli("eplb", "rebalance", "--load", "l.npy", "--current", "p.json", "--max-moves", "-1"), "--max-moves"
    )


# ---- 5. a killed rebalance's temporary file is removed by the next run -------------------------------------


def test_stale_temp_files_of_the_plan_are_removed(tmp_path):
    w = zipf_loads(L, E, 0.8, seed=2, noise=0.3)
    cur = tmp_path / "plan.json"
    eplb.write_plan(eplb.plan(w, S, 1, 1, 8), cur)
    load = tmp_path / "l.npy"
    np.save(load, zipf_loads(L, E, 0.8, seed=3, noise=0.3))
    old = time.time() - 3600
    stale = tmp_path / ".plan.json.k1ll3d_x.tmp"  # the name io.atomic_path gives (mkstemp: 8 of [a-z0-9_])
    kept = [
        tmp_path / ".plan.json.fresh123.tmp",  # in progress (a plan --out writing now)
        tmp_path / ".plan.json.k1ll3d_xx.tmp",  # not our writer's name
        tmp_path / ".other.json.k1ll3d_x.tmp",  # another output's
        tmp_path / "plan.json.k1ll3d_x.tmp",
    ]
    for f in [stale, *kept]:
        f.write_text("partial")
    for f in [stale, *kept[1:]]:
        os.utime(f, (old, old))
    r = cli("eplb", "rebalance", "--load", load, "--current", cur, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["removed"] == [str(stale)] and "removed" in r.stderr
    assert not stale.exists() and all(f.exists() for f in kept)


# ---- 6. an engine plan needs decoder-layer ids -------------------------------------------------------------


@pytest.mark.parametrize("name", ["p.yaml", "p.pt", "sglang.json"])
def test_engine_plan_without_layer_ids_is_refused(tmp_path, name):
    load = tmp_path / "l.npy"
    np.save(load, eplb.sample_load())  # 58 rows: which decoder layers, only the model says
    out = tmp_path / name
    fmt = ["--format", "sglang"] if name == "sglang.json" else []
    r = cli("eplb", "plan", load, "--nodes", "4", "--gpus", "32", "--slots", "288", "--out", out, *fmt)
    refused(r, "--model", "layer ids")
    assert not out.exists()
    assert cli("eplb", "plan", load, *V3, "--out", out, *fmt).returncode == 0


# ---- 7. any bad file: exit 2 naming it ---------------------------------------------------------------------


class Calls:
    """Unpickled, it would create ``<file>.called``."""

    def __init__(self, path):
        self.path = f"{path}.called"

    def __reduce__(self):
        return (open, (self.path, "w"))


def _npy_header(shape, descr="<f4"):
    hdr = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    hdr += b" " * (118 - len(hdr)) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr


BAD_FILES = {
    "csv-field-over-limit.csv": lambda p: p.write_text("1," + "2" * 200_000 + "\n"),
    "csv-nul.csv": lambda p: p.write_bytes(b"1,2\x00\n"),
    "npy-huge-dims.npy": lambda p: p.write_bytes(_npy_header((HUGE, HUGE)) + b"\0" * 64),
    "npy-short.npy": lambda p: p.write_bytes(_npy_header((2_000_000, 2000)) + b"\0" * 64),
    "npy-pickled.npy": lambda p: np.save(p, np.array([Calls(p)], dtype=object), allow_pickle=True),
    "npy-datetime.npy": lambda p: np.save(p, np.zeros((2, 3), "M8[s]")),
    "npy-structured.npy": lambda p: np.save(p, np.zeros((2, 3), [("a", "f4")])),
    "npy-fifo.npy": lambda p: os.mkfifo(p),
    "npy-dev-zero.npy": lambda p: os.symlink("/dev/zero", p),
    "pt-pickled.pt": lambda p: torch.save(Calls(p), p),
    "pt-complex.pt": lambda p: torch.save(torch.ones(2, 3, dtype=torch.complex64), p),
    "yaml-bomb.yaml": lambda p: p.write_text(
        "a: &a [1,1,1,1,1,1,1,1,1]\n"
        + "".join(f"{c}: &{c} [{', '.join(['*' + b] * 9)}]\n" for b, c in zip("abcdef", "bcdefg"))
    ),
    "empty-dir": lambda p: p.mkdir(),
    "dir-with-a-fifo": lambda p: (
        p.mkdir(),
        torch.save({"logical_count": torch.ones(L, E)}, p / "a.pt"),
        os.mkfifo(p / "b.pt"),
    ),
    "json-huge-int.json": lambda p: p.write_text(json.dumps([[10**40] * 3] * 2)),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_load_files_exit_2_naming_the_file(tmp_path, name):
    path = tmp_path / name
    BAD_FILES[name](path)
    refused(cli("eplb", "plan", path), path)
    assert not list(tmp_path.glob("*.called"))


BAD_STATISTICS = {
    "rank-garbage": lambda d: (d / "rank1.safetensors").write_bytes(b"\xff" * 100),
    "rank-huge-header": lambda d: (d / "rank1.safetensors").write_bytes(
        (2**40).to_bytes(8, "little") + b"{}"
    ),
    "rank-is-a-dir": lambda d: ((d / "rank1.safetensors").unlink(), (d / "rank1.safetensors").mkdir()),
    "rank-is-a-fifo": lambda d: ((d / "rank1.safetensors").unlink(), os.mkfifo(d / "rank1.safetensors")),
    "meta-true": lambda d: (d / "meta_info.json").write_text('{"num_experts": true}'),
    "meta-list": lambda d: (d / "meta_info.json").write_text("[1]"),
    "counts-bool": lambda d: (d / "rank1.safetensors").write_bytes(
        safetensors.numpy.save({"100_3": np.zeros(E, bool)})
    ),
}


@pytest.mark.parametrize("case", BAD_STATISTICS)
def test_bad_statistics_exit_2_naming_the_file(tmp_path, case):
    d = statistics(tmp_path / "s")
    BAD_STATISTICS[case](d)
    r = cli("eplb", "plan", d)
    refused(r, d)


def test_floats_numpy_lacks_are_read(tmp_path):
    """bfloat16 counts (a tensor numpy has no type for) are read as float32, not refused as a bug."""
    path = tmp_path / "l.pt"
    torch.save({"logical_count": torch.ones(L, E, dtype=torch.bfloat16)}, path)
    assert eplb.read_loads(path).counts.dtype == np.float32
