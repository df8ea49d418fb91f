"""SGLang 0.5.23 is the judge: its own ``compute_initial_expert_location_metadata`` loads our plan files, its
own recorder accumulators write the dumps we read, and its copy of DeepSeek's eplb.py is the parity reference.

The modules run as SGLang ships them; ``engines.py`` says which names are stubbed and why (the runtime
context's published ServerArgs, the model-class lookup, the server's metrics and kernels). Skipped, with the
reason, where the wheel is not installed (``.ci/run`` installs it with ``--no-deps``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fireflyer import eplb

from . import engines
from .helpers import cli

V3_ARGS = ["--model", "deepseek-v3", "--nodes", "4", "--gpus", "32"]


@pytest.fixture
def sglang_cfg():
    engines.require("sglang", engines.SGLANG)
    return engines.sglang_config()


def load_in_sglang(cfg, path, moe_ep_rank=0):
    el = engines.sglang_expert_location(cfg)
    cfg.exec.moe.init_expert_location = str(path)
    return el.compute_initial_expert_location_metadata(engines.deepseek_v3_model_config(), moe_ep_rank)


@pytest.mark.parametrize("name", ["plan.json", "plan.pt"])
def test_sglang_loads_a_plan_made_from_58_rows(tmp_path, sglang_cfg, name):
    """The issue's case: a [58, 256] load with --model deepseek-v3. SGLang indexes the plan by decoder layer
    (61 rows): layer L of the model must get our plan's row for layer L."""
    load, native, plan = tmp_path / "load.npy", tmp_path / "native.json", tmp_path / name
    assert cli("eplb", "sample", "--out", str(load)).returncode == 0
    for out, fmt in ((native, "native"), (plan, "sglang")):
        r = cli("eplb", "plan", str(load), *V3_ARGS, "--format", fmt, "--out", str(out))
        assert r.returncode == 0, r.stderr
    ours = eplb.read_plan(native)
    meta = load_in_sglang(sglang_cfg, plan)
    assert meta.num_layers == 61 and meta.num_physical_experts == 288 and meta.num_logical_experts == 256
    assert meta.ep_size == 32 and meta.num_local_physical_experts == 9
    for row, layer in enumerate(ours.layer_ids.tolist()):
        assert meta.physical_to_logical_map_cpu[layer].tolist() == ours.phy2log[row].tolist(), layer
        for e in (0, 17, 255):  # SGLang's own lookup, as its MoE layer uses it
            slots = meta.logical_to_all_physical(layer, e)
            assert set(slots) <= {int(s) for s in np.flatnonzero(ours.phy2log[row] == e)}
    assert meta.logical_to_rank_dispatch_physical_map.shape == (61, 256)  # its static dispatch map builds


def test_sglang_plans_dumps_as_we_do(tmp_path, sglang_cfg):
    """SGLang's own EPLB on a dump (``--init-expert-location dump.pt``: init_by_eplb with its copy of eplb.py)
    against our deepseek policy on the same dump: equal on every layer (its copy sums pack loads in Python
    floats, so we compare with pack_sums="float64"; eplb.py's float32 sums are our default)."""
    dump = tmp_path / "dump.pt"
    assert cli("eplb", "sample", "--format", "sglang", "--out", str(dump)).returncode == 0
    sglang_cfg.parallel.nnodes = 4
    with engines.one_rank_group(tmp_path):
        meta = load_in_sglang(sglang_cfg, dump)
    loads = eplb.read_loads(dump)
    ours = eplb.plan(loads.counts, 288, 8, 4, 32, policy="deepseek", pack_sums="float64")
    theirs = meta.physical_to_logical_map_cpu.numpy()
    assert (theirs == ours.phy2log).all(axis=1).sum() == 61
    default = eplb.plan(loads.counts, 288, 8, 4, 32, policy="deepseek")
    assert (theirs == default.phy2log).all(axis=1).sum() >= 60


def test_recorder_dumps_read_back(tmp_path, sglang_cfg, monkeypatch):
    """SGLang's recorder accumulators (stat and per_pass modes) write dumps of a known routing; we read the
    logical counts back, per decoder layer."""
    dumps = tmp_path / "dumps"
    ed = engines.sglang_expert_distribution(sglang_cfg, dumps, monkeypatch)
    el = engines.sglang_expert_location(sglang_cfg)
    phy2log = torch.from_numpy(eplb.plan(eplb.sample_load(), 288, 8, 4, 32).phy2log)
    table = torch.cat([torch.arange(288).repeat(3, 1) % 256, phy2log])  # 61 decoder layers
    meta = el.ExpertLocationMetadata.init_by_mapping(engines.deepseek_v3_model_config(), table, moe_ep_rank=0)
    rng = np.random.default_rng(0)
    passes = [torch.from_numpy(rng.integers(0, 50, (61, 288)).astype(np.int32)) for _ in range(3)]
    for p in passes:
        p[:3] = 0  # dense layers record nothing
    with engines.one_rank_group(tmp_path):
        for mode, cls in (("stat", ed._StatAccumulator), ("per_pass", ed._DetailAccumulator)):
            sglang_cfg.exec.moe.expert_distribution_recorder_mode = mode
            acc = cls(meta, 0)
            acc._first_dump = False  # its first stat dump empties the GPU cache; there is no GPU here
            for i, p in enumerate(passes):
                acc.append(i, "primary", {"global_physical_count": p.clone()}, {})
            acc.dump("file")
    files = sorted(dumps.glob("*.pt"))
    assert len(files) == 2
    want = np.zeros((61, 256))
    total = sum(p.numpy().astype(np.int64) for p in passes)
    for layer in range(61):
        np.add.at(want[layer], table[layer].numpy(), total[layer])
    for f in files:
        got = eplb.read_loads(f)
        assert got.layer_ids.tolist() == list(range(61))
        assert (got.counts == want).all(), f.name
    r = cli("eplb", "plan", str(files[0]), *V3_ARGS, "--json")
    assert r.returncode == 0 and '"layer_ids_from": "the load; dense layers below 3 left out"' in r.stdout


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from(["ties", "few", "zeros", "floats"]),
    st.integers(0, 2**31),
)
def test_parity_with_sglangs_copy_of_eplb(
    groups_per_node, nodes, extra_per_gpu, group_size, gpus_per_node, kind, seed
):
    """Property-based over shapes: integer token counts (ties everywhere), all-zero rows and floats."""
    ds = engines.sglang_deepseek()
    groups = groups_per_node * nodes
    E = groups * group_size
    gpus = nodes * gpus_per_node
    R = E + gpus * extra_per_gpu
    R += (-R) % gpus
    assume((R // nodes) % (gpus // nodes) == 0)
    rng = np.random.default_rng(seed)
    w = {
        "ties": lambda: rng.integers(0, 6, (4, E)),
        "few": lambda: rng.integers(0, 500, (4, E)),
        "zeros": lambda: np.zeros((4, E)),
        "floats": lambda: rng.random((4, E)) * 1000,
    }[kind]().astype(np.float32)
    hier = groups % nodes == 0
    theirs = ds.rebalance_experts(torch.from_numpy(w), R, groups, nodes, gpus, hier)
    ours = eplb.plan(w, R, groups, nodes, gpus, policy="deepseek", pack_sums="float64")
    assert theirs[0].tolist() == ours.phy2log.tolist()
    assert theirs[1].tolist() == ours.log2phy.tolist()
    assert theirs[2].tolist() == ours.logcnt.tolist()


def test_parity_on_the_v3_layouts():
    """The V3 shapes (prefill EP32, decode EP144, one node) on the shipped integer sample."""
    ds = engines.sglang_deepseek()
    w = eplb.sample_load().astype(np.float32)
    for layout in ((288, 8, 4, 32), (288, 8, 18, 144), (288, 8, 1, 32), (256, 8, 4, 32)):
        theirs = ds.rebalance_experts(torch.from_numpy(w), *layout, layout[1] % layout[2] == 0)
        ours = eplb.plan(w, *layout, policy="deepseek", pack_sums="float64")
        assert all(
            torch.equal(t, torch.from_numpy(o))
            for t, o in zip(theirs, (ours.phy2log, ours.log2phy, ours.logcnt))
        )
