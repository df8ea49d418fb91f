"""TensorRT-LLM cannot install here, so its loader's rules are checked on our YAML one by one, each with
where TensorRT-LLM enforces it (NVIDIA/TensorRT-LLM on GitHub, read for this test):

R1 ``tensorrt_llm/llmapi/llm_args.py`` ``TorchLlmArgs.validate_load_balancer``: a ``moe_config.load_balancer``
   path is read with ``yaml.safe_load`` and passed as keyword arguments to ``MoeLoadBalancerConfig``.
R2 ``llm_args.py`` ``MoeLoadBalancerConfig(StrictBaseModel)``: no other keys than ``num_slots`` (int),
   ``initial_global_assignments`` (Dict[int, List[int]]) and ``layer_updates_per_iter`` (int).
R3 ``MoeLoadBalancerConfig.setup``: ``num_slots`` is set and divisible by the EP size.
R4 ``MoeLoadBalancerConfig.get_layer_initial_global_assignments``: every MoE layer's ``layer_idx`` (the
   decoder-layer id: 3..60 for DeepSeek-V3, as ``examples/ep_load_balancer/README.md`` shows) is a key, else
   ``KeyError``; each list has ``num_slots`` entries.
R5 the MoE module's load-balancer set-up (``tensorrt_llm/_torch/modules/fused_moe/``): the assignment is a
   list, ``num_slots >= num_experts`` and ``set(assignment) == set(range(num_experts))``; rank r holds slots
   ``[r * num_slots // ep_size, (r + 1) * num_slots // ep_size)``, our slot-to-GPU rule.
R6 ``examples/ep_load_balancer/generate_eplb_config.py``: ``layer_updates_per_iter: 0`` is a static (offline)
   plan, as TensorRT-LLM's own generator writes.

The statistics we read are those of ``tensorrt_llm/_torch/expert_statistic.py`` (``meta_info.json``,
``rank{r}.safetensors`` with a ``[num_experts]`` count per ``{iteration}_{layer}``), summed over ranks and
iterations as ``examples/ep_load_balancer/utils.py`` does.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from fireflyer import eplb
from tests.conftest import FIXTURES

from .helpers import cli

ENGINES = FIXTURES / "engines"


def trtllm_loads(text: str, *, ep_size: int, moe_layers: list[int], num_experts: int) -> dict:
    """What TensorRT-LLM's loader would do with this YAML, as far as rules R1-R6 go; raises where it would."""
    doc = yaml.safe_load(text)  # R1
    assert isinstance(doc, dict)
    assert set(doc) <= {"num_slots", "initial_global_assignments", "layer_updates_per_iter"}, "R2: extra key"
    assert isinstance(doc["num_slots"], int) and isinstance(doc.get("layer_updates_per_iter", 0), int), "R2"
    ga = doc["initial_global_assignments"]
    assert all(isinstance(k, int) for k in ga) and all(isinstance(v, list) for v in ga.values()), "R2"
    assert all(isinstance(x, int) for v in ga.values() for x in v), "R2: List[int]"
    assert doc["num_slots"] % ep_size == 0, "R3"
    per_rank = {}
    for layer in moe_layers:
        if layer not in ga:
            raise KeyError(f"layer_idx {layer} not found in `initial_global_assignments`.")  # R4
        a = ga[layer]
        assert len(a) == doc["num_slots"], "R4"
        assert doc["num_slots"] >= num_experts and set(a) == set(range(num_experts)), "R5"
        local = doc["num_slots"] // ep_size
        per_rank[layer] = [a[r * local : (r + 1) * local] for r in range(ep_size)]  # R5
    assert doc.get("layer_updates_per_iter", 0) == 0, "R6: a static plan"
    return per_rank


def test_plan_from_58_rows_loads_in_trtllm(tmp_path):
    load, yml, native = tmp_path / "load.npy", tmp_path / "plan.yaml", tmp_path / "plan.json"
    cli("eplb", "sample", "--out", str(load))
    for out in (yml, native):
        r = cli("eplb", "plan", str(load), "--deployment", "deepseek-v3-prefill", "--out", str(out))
        assert r.returncode == 0, r.stderr
    assert "moe_config.load_balancer" in r.stderr or yml.exists()
    ranks = trtllm_loads(yml.read_text(), ep_size=32, moe_layers=list(range(3, 61)), num_experts=256)
    ours = eplb.read_plan(native)
    for row, layer in enumerate(ours.layer_ids.tolist()):
        assert sum(ranks[layer], []) == ours.phy2log[row].tolist()
        assert ranks[layer][5] == ours.phy2log[row][45:54].tolist(), "rank 5 holds slots 45..53"


def test_the_issue_s_key_error_is_gone(tmp_path):
    """Before: a 58-row plan was keyed 0..57 and TensorRT-LLM raised KeyError for layer_idx 58."""
    load, yml = tmp_path / "load.npy", tmp_path / "plan.yaml"
    cli("eplb", "sample", "--out", str(load))
    cli(
        "eplb", "plan", str(load), "--model", "deepseek-v3", "--nodes", "4", "--gpus", "32", "--out", str(yml)
    )
    trtllm_loads(yml.read_text(), ep_size=32, moe_layers=[58, 59, 60], num_experts=256)
    with pytest.raises(KeyError, match="layer_idx 2 "):
        trtllm_loads(yml.read_text(), ep_size=32, moe_layers=[2], num_experts=256)


def test_round_trip_keeps_layer_ids(tmp_path):
    """Before: reading a file keyed 3..60 renumbered it 0..57."""
    yml, again = tmp_path / "a.yaml", tmp_path / "b.yaml"
    cli("eplb", "sample", "--kind", "plan", "--out", str(yml))
    p = eplb.read_plan(yml, gpus=32, nodes=4)
    assert p.layer_ids.tolist() == list(range(3, 61))
    eplb.write_plan(p, again, "trtllm")
    assert yaml.safe_load(again.read_text()) == yaml.safe_load(yml.read_text())


@pytest.mark.skipif(not ENGINES.exists(), reason=f"no engine fixtures at {ENGINES}")
def test_plan_from_trtllms_own_statistics(tmp_path):
    """Statistics TensorRT-LLM's ExpertStatistic wrote (2 ranks, iterations 100..109) -> a plan it loads."""
    yml = tmp_path / "moe_load_balancer.yaml"
    stats = ENGINES / "trtllm-expert-statistic"
    r = cli(
        "eplb",
        "plan",
        str(stats),
        "--model",
        "deepseek-v3",
        "--gpus",
        "36",
        "--slots",
        "288",
        "--out",
        str(yml),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert '"load": "TensorRT-LLM statistics (2 ranks, iterations 100..109)"' in r.stdout
    trtllm_loads(yml.read_text(), ep_size=36, moe_layers=list(range(3, 61)), num_experts=256)
    loads = eplb.read_loads(stats)
    import safetensors.numpy

    total = np.zeros(256)
    for f in sorted(stats.glob("rank*.safetensors")):
        t = safetensors.numpy.load(f.read_bytes())
        total += sum(t[f"{i}_17"] for i in range(100, 110))
    assert (loads.counts[list(loads.layer_ids).index(17)] == total).all()
