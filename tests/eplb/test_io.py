"""Loads in every format (with the layer ids the format carries), plan formats both ways, determinism,
and the shipped samples."""

import json

import numpy as np
import pytest
import torch
import yaml

from fireflyer import eplb
from fireflyer.errors import InputError
from tests.conftest import FIXTURES

from .helpers import zipf_loads

W = zipf_loads(3, 16, 1.0, seed=0)
ENGINES = FIXTURES / "engines"


@pytest.mark.parametrize("fmt", ["json", "json-object", "yaml", "csv", "npy", "pt", "pt-logical"])
def test_array_formats(tmp_path, fmt):
    path = tmp_path / {"json-object": "l.json", "pt-logical": "l.pt"}.get(fmt, f"l.{fmt}")
    if fmt == "json":
        path.write_text(json.dumps(W.tolist()))
    elif fmt == "json-object":
        path.write_text(json.dumps({"logical_count": W.tolist()}))
    elif fmt == "yaml":
        path.write_text(yaml.safe_dump({"logical_count": W.tolist()}))
    elif fmt == "csv":
        path.write_text(
            ",".join(f"e{i}" for i in range(16)) + "\n" + "\n".join(",".join(map(str, r)) for r in W.tolist())
        )
    elif fmt == "npy":
        np.save(path, W)
    elif fmt == "pt":
        torch.save(torch.from_numpy(W), path)
    else:
        torch.save({"logical_count": torch.from_numpy(W)}, path)
    got = eplb.read_loads(path)
    np.testing.assert_allclose(got.counts, W, rtol=1e-6)
    assert got.layer_ids is None, "a bare array does not say which decoder layers its rows are"


def test_sglang_stat_dump_keeps_every_decoder_layer(tmp_path):
    path = tmp_path / "dump.pt"
    torch.save({"logical_count": torch.from_numpy(np.stack([W, W])), "rank": 0}, path)
    got = eplb.read_loads(path)
    np.testing.assert_allclose(got.counts, W * 2, rtol=1e-6)
    assert got.layer_ids.tolist() == [0, 1, 2] and "SGLang stat" in got.source


def test_dump_directory_is_summed(tmp_path):
    for rank in range(3):
        torch.save({"logical_count": torch.from_numpy(W[None])}, tmp_path / f"dump_rank{rank}.pt")
    np.testing.assert_allclose(eplb.read_loads(tmp_path).counts, W * 3, rtol=1e-6)


def test_sglang_per_pass_dump_maps_slots_to_experts(tmp_path):
    phy2log = np.array([[0, 1, 2, 0], [2, 1, 0, 1]])
    passes = [np.array([[1, 2, 3, 4], [5, 6, 7, 8]]), np.array([[1, 0, 0, 1], [0, 0, 0, 2]])]
    records = [
        {"forward_pass_id": i, "rank": 0, "gatherer_key": "primary", "global_physical_count": torch.tensor(c)}
        for i, c in enumerate(passes)
    ]
    path = tmp_path / "d.pt"
    torch.save({"records": records, "last_physical_to_logical_map": torch.tensor(phy2log)}, path)
    got = eplb.read_loads(path)
    assert got.counts.tolist() == [[7, 2, 3], [7, 16, 5]] and got.layer_ids.tolist() == [0, 1]


def test_vllm_window_drops_padding_slots(tmp_path):
    window = torch.tensor([[[1, 2, 3, 9]], [[1, 1, 1, 9]]])  # [window, layers, physical]
    path = tmp_path / "w.pt"
    torch.save({"expert_load_window": window, "physical_to_logical_map": torch.tensor([[1, 0, 1, -1]])}, path)
    got = eplb.read_loads(path)
    assert got.counts.tolist() == [[3, 6]] and got.layer_ids is None


@pytest.mark.skipif(not ENGINES.exists(), reason=f"no engine fixtures at {ENGINES}")
def test_engine_fixtures():
    """Dumps the engines' own classes wrote (see the fixtures' README): SGLang 0.5.23 stat and per_pass,
    TensorRT-LLM's expert statistics of two ranks."""
    stat = eplb.read_loads(ENGINES / "sglang-stat")
    raw = torch.load(next((ENGINES / "sglang-stat").glob("*.pt")), weights_only=True)["logical_count"]
    assert stat.counts.shape == (61, 256) and stat.layer_ids.tolist() == list(range(61))
    assert (stat.counts == raw.sum(0).numpy()).all() and (stat.counts[:3] == 0).all()
    per_pass = eplb.read_loads(ENGINES / "sglang-per-pass")
    assert per_pass.counts.shape == (61, 256) and per_pass.layer_ids.tolist() == list(range(61))
    trt = eplb.read_loads(ENGINES / "trtllm-expert-statistic")
    assert trt.counts.shape == (58, 256) and trt.layer_ids.tolist() == list(range(3, 61))
    assert (
        eplb.read_loads(ENGINES / "trtllm-expert-statistic" / "meta_info.json").counts.sum()
        == trt.counts.sum()
    )


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"[[1, 2], [3", "JSON"),
        (b"[[1, 2], [3]]", "array"),
        (b'{"x": 1}', "logical_count"),
    ],
)
def test_bad_json_loads(tmp_path, content, words):
    p = tmp_path / "l.json"
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        eplb.read_loads(p)
    assert e.value.file == str(p)
    assert words in e.value.one_line()


def test_truncated_npy(tmp_path):
    p = tmp_path / "l.npy"
    np.save(p, W)
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(InputError, match="truncated"):
        eplb.read_loads(p)


def test_bad_trtllm_statistics(tmp_path):
    (tmp_path / "meta_info.json").write_text('{"num_experts": 16, "num_experts_per_token": 2}')
    with pytest.raises(InputError, match="rank"):
        eplb.read_loads(tmp_path)
    import safetensors.numpy

    tensors = {"0_3": np.ones(16, np.int64), "0_4": np.ones(16, np.int64), "1_3": np.ones(16, np.int64)}
    (tmp_path / "rank0.safetensors").write_bytes(safetensors.numpy.save(tensors))
    with pytest.raises(InputError) as e:
        eplb.read_loads(tmp_path)
    assert "missing" in e.value.message and e.value.field == "1_4"


def plan_of(layers=(3, 4, 5), decoder_layers=6):
    return eplb.plan(W, 24, 4, 2, 8, layer_ids=list(layers), decoder_layers=decoder_layers)


@pytest.mark.parametrize("name", ["plan.json", "sglang.json", "sglang.pt", "trtllm.yaml"])
def test_plan_formats_round_trip_with_layer_ids(tmp_path, name):
    p = plan_of()
    fmt = name.split(".")[0].replace("plan", "native")
    path = tmp_path / name
    eplb.write_plan(p, path, fmt)
    back = eplb.read_plan(path, gpus=8, nodes=2, first_moe_layer=3 if fmt == "sglang" else None)
    assert back.meta["format"] == fmt
    assert back.layer_ids.tolist() == [3, 4, 5] and back.decoder_layers == (None if fmt == "trtllm" else 6)
    assert (back.phy2log == p.phy2log).all() and (back.logcnt == p.logcnt).all()
    if fmt == "native":
        assert (back.log2phy == p.log2phy).all()


def test_plan_files_say_what_their_engine_indexes(tmp_path):
    p = plan_of()
    eplb.write_plan(p, tmp_path / "native.json")
    native = json.loads((tmp_path / "native.json").read_text())
    assert set(native) == {
        "physical_to_logical_map",
        "logical_to_all_physical_map",
        "logical_count",
        "layer_ids",
        "meta",
    }
    assert native["layer_ids"] == [3, 4, 5] and native["meta"]["gpus"] == 8
    eplb.write_plan(p, tmp_path / "s.json", "sglang")
    table = json.loads((tmp_path / "s.json").read_text())
    assert set(table) == {"physical_to_logical_map"}, "SGLang passes every key to init_by_mapping"
    rows = np.array(table["physical_to_logical_map"])
    assert rows.shape == (6, 24) and (rows[3:6] == p.phy2log).all()
    assert (rows[[0, 1, 2]] == np.arange(24) % 16).all(), "layers without a plan row: SGLang's trivial map"
    eplb.write_plan(p, tmp_path / "s.pt", "sglang")
    pt = torch.load(tmp_path / "s.pt", weights_only=True)
    assert set(pt) == {"physical_to_logical_map"} and torch.equal(
        pt["physical_to_logical_map"], torch.tensor(rows)
    )
    eplb.write_plan(p, tmp_path / "t.yaml", "trtllm")
    trt = yaml.safe_load((tmp_path / "t.yaml").read_text())
    assert sorted(trt["initial_global_assignments"]) == [3, 4, 5]


def test_sglang_plan_with_a_model_leaves_out_dense_rows(tmp_path):
    p = eplb.plan(np.ones((58, 256), np.float32), 288, 8, 4, 32, layer_ids=range(3, 61), decoder_layers=61)
    eplb.write_plan(p, tmp_path / "s.json", "sglang")
    back = eplb.read_plan(tmp_path / "s.json", gpus=32, nodes=4, model="deepseek-v3")
    assert back.layer_ids.tolist() == list(range(3, 61)) and back.decoder_layers == 61
    with pytest.raises(InputError, match="GPU count unknown"):
        eplb.read_plan(tmp_path / "s.json")
    with pytest.raises(InputError, match="row per decoder layer"):
        eplb.read_plan(tmp_path / "s.json", gpus=32, model="deepseek-v2-lite")


@pytest.mark.parametrize("fmt, name", [("native", "a.json"), ("sglang", "a.pt"), ("trtllm", "a.yaml")])
def test_plan_files_are_byte_identical(tmp_path, fmt, name):
    a, b = tmp_path / name, tmp_path / f"b{name[1:]}"
    eplb.write_plan(plan_of(), a, fmt)
    eplb.write_plan(plan_of(), b, fmt)
    assert a.read_bytes() == b.read_bytes()


def test_sample_formats_are_the_load_formats_then_the_plan_formats():
    assert [f.value for f in eplb.SampleFormat] == list(dict.fromkeys((*eplb.LOAD_FORMATS, *eplb.FORMATS)))


def test_samples_are_v3_shaped_token_counts():
    s, n = eplb.sample_load(), eplb.sample_load("next-load")
    assert s.shape == n.shape == (58, 256) and s.dtype.kind == "i"
    assert (s.sum(axis=1) == 4096 * 8).all(), "4096 tokens, 8 experts each"
    assert (s != n).any() and np.corrcoef(s.ravel(), n.ravel())[0, 1] > 0.99
