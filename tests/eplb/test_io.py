"""Load inputs in every format, plan formats, determinism."""

import json

import numpy as np
import pytest
import torch
import yaml

from fireflyer import eplb
from fireflyer.errors import InputError

from .helpers import zipf_loads

W = zipf_loads(3, 16, 1.0, seed=0)


@pytest.mark.parametrize("fmt", ["json", "json-object", "yaml", "csv", "npy", "pt", "pt-sglang"])
def test_load_formats(tmp_path, fmt):
    path = tmp_path / {"json-object": "l.json", "pt-sglang": "l.pt"}.get(fmt, f"l.{fmt}")
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
    else:  # SGLang recorder dump: logical_count [steps, L, E], summed over steps
        torch.save({"logical_count": torch.from_numpy(np.stack([W, W])), "rank": 0}, path)
    got = eplb.read_loads(path)
    np.testing.assert_allclose(got, W * (2 if fmt == "pt-sglang" else 1), rtol=1e-6)


def test_dump_directory_is_summed(tmp_path):
    for rank in range(3):
        torch.save({"logical_count": torch.from_numpy(W[None])}, tmp_path / f"dump_rank{rank}.pt")
    np.testing.assert_allclose(eplb.read_loads(tmp_path), W * 3, rtol=1e-6)


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


def test_plan_formats_round_trip(tmp_path):
    p = eplb.plan(W, 24, 4, 2, 8)
    for fmt in eplb.FORMATS:
        path = tmp_path / f"plan-{fmt}.{'yaml' if fmt == 'trtllm' else 'json'}"
        eplb.write_plan(p, path, fmt)
        back = eplb.read_plan(path, gpus=8, nodes=2)
        assert (back.phy2log == p.phy2log).all(), fmt
        assert (back.log2phy == p.log2phy).all() and (back.logcnt == p.logcnt).all()
    native = json.loads((tmp_path / "plan-native.json").read_text())
    assert set(native) == {"physical_to_logical_map", "logical_to_all_physical_map", "logical_count", "meta"}
    assert native["meta"]["gpus"] == 8 and native["meta"]["policy"] == "balanced"
    assert set(json.loads((tmp_path / "plan-sglang.json").read_text())) == {"physical_to_logical_map"}
    trt = yaml.safe_load((tmp_path / "plan-trtllm.yaml").read_text())
    assert trt["num_slots"] == 24 and trt["initial_global_assignments"][0] == p.phy2log[0].tolist()


def test_plan_files_are_byte_identical(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    eplb.write_plan(eplb.plan(W, 24, 4, 2, 8), a)
    eplb.write_plan(eplb.plan(W.copy(), 24, 4, 2, 8), b)
    assert a.read_bytes() == b.read_bytes()


def test_sample_is_v3_shaped_and_deterministic():
    s = eplb.sample_loads()
    assert s.shape == (58, 256) and (s == eplb.sample_loads()).all()
