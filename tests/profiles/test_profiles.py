"""Shipped profiles, the schema, user overrides and the errors bad files give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fireflyer import InputError, profiles
from fireflyer.profiles import HardwareProfile, ModelProfile
from tests.conftest import run_flyer, run_json

SHIPPED = sorted(profiles.SHIPPED_DIR.rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_profile_validates(path):
    prof = profiles.load_file(path)
    assert prof.name == path.stem
    assert type(prof).__struct_config__.tag == path.parent.name


def test_required_profiles_are_shipped(isolated_profiles):
    names = {e.name for e in profiles.catalog()[0]}
    assert {"h800-sxm", "h100-sxm", "h200-sxm", "a100-sxm-80g"} <= names
    assert {"deepseek-v3", "deepseek-v2-lite"} <= names
    assert {"deepseek-v3-prefill", "deepseek-v3-decode", "deepseek-v3-pretrain"} <= names


def test_hopper_figures_are_dense(isolated_profiles):
    for name in ("h800-sxm", "h100-sxm", "h200-sxm"):
        hw = profiles.hardware(name)
        assert hw.peak_tflops.bf16 == pytest.approx(989.4)
        assert hw.peak_tflops.fp8 == pytest.approx(1978.9)
        assert hw.sm_count == 132 and hw.l2_mib == 50
    assert profiles.hardware("h800-sxm").hbm_gbps == 3350
    assert profiles.hardware("h200-sxm").hbm_gbps == 4800
    assert profiles.hardware("h800-sxm").practical_tflops["bf16"] == pytest.approx(865)
    assert profiles.hardware("h800-sxm").nvlink_gbps == 400
    assert profiles.hardware("a100-sxm-80g").peak_tflops.fp8 is None


def test_model_profiles(isolated_profiles):
    v3 = profiles.model("deepseek-r1")  # alias
    assert v3.name == "deepseek-v3"
    assert (v3.layers, v3.dense_layers, v3.moe_layers) == (61, 3, 58)
    assert v3.dense_layers + v3.moe_layers == v3.layers
    assert (v3.routed_experts, v3.shared_experts, v3.experts_per_token) == (256, 1, 8)
    assert (v3.expert_groups, v3.groups_per_token) == (8, 4)
    assert v3.mla.kv_lora_rank == 512 and v3.mla.q_lora_rank == 1536
    assert v3.expert_bytes.bf16 == 3 * v3.hidden_size * v3.moe_intermediate_size * 2
    lite = profiles.model("deepseek-v2-lite")
    assert lite.mla.q_lora_rank is None and lite.dense_layers + lite.moe_layers == lite.layers
    assert lite.expert_bytes.bf16 == 3 * lite.hidden_size * lite.moe_intermediate_size * 2


def test_cluster_profiles_name_their_hardware(isolated_profiles):
    prefill, decode, train = (
        profiles.deployment(n) for n in ("deepseek-v3-prefill", "deepseek-v3-decode", "deepseek-v3-pretrain")
    )
    assert (prefill.nodes, prefill.ep) == (4, 32) and prefill.gpus == 32
    assert (decode.nodes, decode.ep) == (18, 144) and decode.gpus == 144
    assert (train.pp, train.ep, train.gpus) == (16, 64, 2048)
    v3 = profiles.model("deepseek-v3")
    for c in (prefill, decode):
        assert isinstance(profiles.hardware(c.hardware), HardwareProfile)
        assert isinstance(profiles.model(c.model), ModelProfile)
        assert c.gpus * c.routed_experts_per_gpu == v3.routed_experts + c.redundant_experts


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = yaml.safe_dump(
    profiles.to_dict(profiles.load_file(profiles.SHIPPED_DIR / "hardware" / "h100-sxm.yaml"))
)


@pytest.mark.parametrize(
    "case, text, field",
    [
        ("not-yaml", "kind: hardware\nname: [unclosed\n", None),
        ("missing-field", GOOD.replace("vendor: nvidia\n", ""), "vendor"),
        ("wrong-type", GOOD.replace("sm_count: 132", "sm_count: many"), "sm_count"),
        ("unknown-key", GOOD + "turbo_mode: true\n", "turbo_mode"),
        ("unknown-kind", GOOD.replace("kind: hardware", "kind: toaster"), "kind"),
        ("nested-wrong-type", GOOD.replace("bf16: 989.4", "bf16: fast"), "peak_tflops.bf16"),
        ("negative", GOOD.replace("hbm_gbps: 3350.0", "hbm_gbps: -1"), "hbm_gbps"),
        ("not-a-mapping", "- just\n- a list\n", None),
        ("empty", "", None),
    ],
)
def test_bad_profile_files_exit_2_with_one_line(tmp_path, case, text, field):
    path = _write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(InputError) as err:
        profiles.load_file(path)
    if field:
        assert err.value.field == field
    res = run_flyer("profiles", "validate", str(path))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert str(path) in lines[0]
    if field:
        assert field in lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_validate_ok_and_json(tmp_path):
    good = _write(tmp_path, "mine.yaml", GOOD.replace("name: h100-sxm", "name: mine"))
    bad = _write(tmp_path, "bad.yaml", GOOD.replace("kind: hardware", "kind: toaster"))
    assert run_flyer("profiles", "validate", str(good)).returncode == 0
    res = run_flyer("profiles", "validate", str(good), str(bad), "--json")
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert [f["ok"] for f in doc["files"]] == [True, False]
    assert "kind" in doc["files"][1]["error"]


def test_user_profile_overrides_shipped(tmp_path, isolated_profiles):
    user = tmp_path / "mine"
    user.mkdir()
    _write(user, "h100-sxm.yaml", GOOD.replace("hbm_gbps: 3350.0", "hbm_gbps: 3000.0"))
    env = {"FLYER_PROFILES": str(user), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    doc = run_json("profiles", "show", "h100-sxm", env=env)
    assert doc["profile"]["hbm_gbps"] == 3000.0
    assert doc["origin"] == "FLYER_PROFILES" and doc["path"] == str(user / "h100-sxm.yaml")
    assert doc["overrides"] and doc["overrides"][0].endswith("hardware/h100-sxm.yaml")
    human = run_flyer("profiles", "show", "h100-sxm", env=env)
    assert str(user / "h100-sxm.yaml") in human.stdout
    listed = run_json("profiles", "list", env=env)
    row = next(r for r in listed if r["name"] == "h100-sxm")
    assert row["origin"] == "FLYER_PROFILES"


def test_config_dir_profiles_and_broken_user_file(tmp_path, isolated_profiles):
    cfg = tmp_path / "cfg" / "fireflyer" / "profiles"
    cfg.mkdir(parents=True)
    _write(cfg, "lab-gpu.yaml", GOOD.replace("name: h100-sxm", "name: lab-gpu"))
    _write(cfg, "broken.yaml", "kind: hardware\nname: broken\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    res = run_flyer("profiles", "list", "--json", env=env)
    assert res.returncode == 0
    names = [r["name"] for r in json.loads(res.stdout)]
    assert "lab-gpu" in names and "broken" not in names
    assert "broken.yaml" in res.stderr  # warned, not fatal
    res = run_flyer("profiles", "show", "broken", env=env)
    assert res.returncode == 2 and "broken.yaml" in res.stderr


def test_show_unknown_profile(isolated_profiles):
    res = run_flyer("profiles", "show", "h900")
    assert res.returncode == 2
    assert "h900" in res.stderr and "h800-sxm" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_show_h800_json_prints_dense_peaks():
    doc = run_json("profiles", "show", "h800-sxm")
    assert doc["profile"]["peak_tflops"] == {
        "fp32": 66.9,
        "tf32": 494.7,
        "bf16": 989.4,
        "fp16": 989.4,
        "fp8": 1978.9,
    }


def test_list_filters_by_kind(isolated_profiles):
    rows = run_json("profiles", "list", "--kind", "model")
    assert {r["kind"] for r in rows} == {"model"}
    res = run_flyer("profiles", "list", "--kind", "gpu")
    assert res.returncode == 2 and "kind" in res.stderr


def test_gpu_name_matching(isolated_profiles):
    assert profiles.match_gpu("NVIDIA H800").name == "h800-sxm"
    assert profiles.match_gpu("NVIDIA H100 80GB HBM3").name == "h100-sxm"
    assert profiles.match_gpu("NVIDIA H200").name == "h200-sxm"
    assert profiles.match_gpu("NVIDIA A100-SXM4-80GB").name == "a100-sxm-80g"
    assert profiles.match_gpu("NVIDIA GeForce RTX 4090") is None


def test_gpu_name_matching_picks_the_most_specific_profile(isolated_profiles):
    assert profiles.match_gpu("NVIDIA H100 PCIe").name == "h100-pcie"
    assert profiles.match_gpu("NVIDIA H100 NVL").name == "h100-nvl"
    assert profiles.match_gpu("NVIDIA H100 80GB HBM3").name == "h100-sxm"
    assert profiles.match_gpu("NVIDIA B200").name == "b200"
    # whole words only: a Grace Hopper or Grace Blackwell part is not the discrete GPU its name contains
    assert profiles.match_gpu("NVIDIA GH200 480GB") is None
    assert profiles.match_gpu("NVIDIA GB200") is None
    pcie, sxm = profiles.hardware("h100-pcie"), profiles.hardware("h100-sxm")
    assert pcie.hbm_gbps == 2000 and pcie.peak_tflops.bf16 == 756 and sxm.peak_tflops.bf16 == 989.4
