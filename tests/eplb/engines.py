"""The serving engines' own code, as far as it imports without the engines' dependencies.

SGLang's and vLLM's wheels install with ``pip install --no-deps`` (``.ci/run`` pins them); their package
``__init__`` files import the whole server (GPU kernels, tokenizers, HTTP), so the modules the tests need are
imported on their own: each package on the way is registered bare (its directory, not its ``__init__``), and
the module's own file runs as shipped. Where a module imports something that cannot import here (it needs
CUDA kernels or the server's configuration), that one name is stubbed, and the stub says what it stands for.
Nothing of the engines is copied into this repository.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

SGLANG = "0.5.23"
VLLM = "0.33.0"


def installed(dist: str, version: str) -> bool:
    try:
        return importlib.metadata.version(dist) == version
    except importlib.metadata.PackageNotFoundError:
        return False


def require(dist: str, version: str) -> None:
    if not installed(dist, version):
        pytest.skip(f"needs {dist}=={version} (pip install --no-deps {dist}=={version}, as .ci/run does)")


def _root(top: str) -> Path:
    dist = importlib.metadata.distribution(top)
    return Path(str(dist.locate_file(top)))


def bare(package: str) -> None:
    """Register ``package`` and its parents as plain namespaces over their directories, without running their
    ``__init__`` (which import the whole engine)."""
    parts = package.split(".")
    root = _root(parts[0])
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in sys.modules:
            continue
        mod = types.ModuleType(name)
        mod.__path__ = [str(root.joinpath(*parts[1:i]))]
        sys.modules[name] = mod


def stub(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def module(name: str) -> types.ModuleType:
    bare(name.rsplit(".", 1)[0])
    return importlib.import_module(name)


# ---- SGLang ----------------------------------------------------------------------------------------------


def sglang_deepseek() -> types.ModuleType:
    """SGLang's copy of DeepSeek's eplb.py (``sglang.srt.eplb.eplb_algorithms.deepseek``): torch only."""
    require("sglang", SGLANG)
    return module("sglang.srt.eplb.eplb_algorithms.deepseek")


def sglang_config(**moe) -> SimpleNamespace:
    """What SGLang's runtime context answers for one server: ``get_exec().moe.*``, ``get_parallel().*``,
    ``get_device().device``. Stands for ``sglang.srt.runtime_context``'s published ServerArgs, which need the
    whole server to build."""
    exec_ = SimpleNamespace(
        moe=SimpleNamespace(
            **{
                "init_expert_location": "trivial",
                "ep_num_redundant_experts": 32,
                "ep_dispatch_algorithm": "static",
                "moe_a2a_backend": "deepep",
                "ep_join_mode": "none",
                "eplb_algorithm": "auto",
                "expert_distribution_recorder_mode": "stat",
                "expert_distribution_recorder_buffer_size": -1,
                "eplb_min_rebalancing_utilization_threshold": 1.0,
                **moe,
            }
        ),
        overlap=SimpleNamespace(enable_two_batch_overlap=False),
    )
    parallel = SimpleNamespace(ep_size=32, nnodes=4, tp_size=32, elastic_ep_initial_size=None)
    return SimpleNamespace(
        exec=exec_,
        parallel=parallel,
        device=SimpleNamespace(device="cpu"),
        schedule=SimpleNamespace(chunked_prefill_size=16),
        resources=SimpleNamespace(expert_location_metadata=None),
    )


def deepseek_v3_model_config(layers: int = 61, experts: int = 256, groups: int = 8) -> SimpleNamespace:
    """A ModelConfig of DeepSeek-V3 as far as SGLang's expert location reads it (its hf_config)."""
    return SimpleNamespace(
        hf_config=SimpleNamespace(num_hidden_layers=layers, n_routed_experts=experts, n_group=groups)
    )


def sglang_expert_location(cfg: SimpleNamespace) -> types.ModuleType:
    """``sglang.srt.eplb.expert_location`` as shipped, answering from ``cfg``.

    Stubbed: the runtime-context accessors (``cfg`` stands for the published ServerArgs); the model-class
    lookup (``sglang.srt.model_loader.get_model_architecture`` imports every model and its kernels), answered
    as ``DeepseekV2ForCausalLM.get_model_config_for_expert_location`` does in SGLang 0.5.23
    (``num_hidden_layers``, ``n_routed_experts``, ``n_group`` of the hf config); and elastic EP's
    ``elastic_expanded_world_enabled`` (its module needs the server), False as without elastic EP."""
    require("sglang", SGLANG)
    stub("sglang.srt.elastic_ep.elastic_ep", elastic_expanded_world_enabled=lambda: False)
    el = module("sglang.srt.eplb.expert_location")
    el.get_exec = lambda: cfg.exec
    el.get_parallel = lambda: cfg.parallel
    el.get_device = lambda: cfg.device
    el.get_resources = lambda: cfg.resources

    def from_model_config(model_config):
        hf = model_config.hf_config
        return el.ModelConfigForExpertLocation(
            num_layers=hf.num_hidden_layers, num_logical_experts=hf.n_routed_experts, num_groups=hf.n_group
        )

    el.ModelConfigForExpertLocation.from_model_config = staticmethod(from_model_config)
    return el


def sglang_expert_distribution(cfg: SimpleNamespace, dump_dir: Path, monkeypatch) -> types.ModuleType:
    """``sglang.srt.eplb.expert_distribution`` (the recorder: its accumulators write the dumps) as shipped.

    Stubbed: ``forward_batch_info`` (imports GPU kernels; the accumulators only name its classes in type
    hints), ``observability.metrics_collector`` (needs the server's metrics stack; used only when balancedness
    reporting is on, which it is not here), ``sglang.srt.utils`` (needs the server's dependencies; the
    accumulators use none of its functions), and the runtime-context accessors (``cfg``)."""
    require("sglang", SGLANG)
    pytest.importorskip(
        "einops", reason="SGLang's recorder imports einops (pip install einops, as .ci/run does)"
    )
    monkeypatch.setenv("SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR", str(dump_dir))
    bare("sglang.srt.model_executor")
    stub("sglang.srt.model_executor.forward_batch_info", ForwardBatch=object, ForwardMode=object)
    bare("sglang.srt.observability")
    stub(
        "sglang.srt.observability.metrics_collector",
        STAT_LOGGER_ROLE_EXPERT_DISPATCH="expert_dispatch",
        ExpertDispatchCollector=object,
        resolve_collector_class=lambda role, default: default,
    )
    stub("sglang.srt.utils", Withable=object, get_device=lambda: "cpu", get_int_env_var=lambda name, d=0: d)
    ed = module("sglang.srt.eplb.expert_distribution")
    monkeypatch.setattr(ed, "get_exec", lambda: cfg.exec)
    monkeypatch.setattr(ed, "get_schedule", lambda: cfg.schedule)
    monkeypatch.setattr(ed, "get_device_namespace", lambda: cfg.device)
    monkeypatch.setattr(ed, "reports_expert_balancedness", lambda: False)
    return ed


# ---- vLLM ------------------------------------------------------------------------------------------------


def vllm_policies() -> types.ModuleType:
    """vLLM's ``vllm.distributed.eplb.policy`` package (``EPLB_POLICIES``, the closed list of policies
    ``EplbState`` picks from), as shipped. Stubbed: ``vllm.config.parallel`` (it imports vLLM's whole
    configuration stack), of which the package reads only ``EPLBPolicyOption = Literal["default"]`` (vLLM
    0.33.0, vllm/config/parallel.py), checking its keys against it."""
    require("vllm", VLLM)
    from typing import Literal

    bare("vllm.config")
    if "vllm.config.parallel" not in sys.modules:
        stub("vllm.config.parallel", EPLBPolicyOption=Literal["default"])
    bare("vllm.distributed.eplb")
    return importlib.import_module("vllm.distributed.eplb.policy")


def vllm_policy_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """vLLM's ``AbstractEplbPolicy`` and its default policy (DeepSeek's algorithm ported to numpy), as shipped
    (numpy and torch only)."""
    require("vllm", VLLM)
    return (
        module("vllm.distributed.eplb.policy.abstract"),
        module("vllm.distributed.eplb.policy.default"),
    )


@contextlib.contextmanager
def one_rank_group(tmp_path: Path):
    """A real torch.distributed group of one gloo rank: SGLang's dump and dispatch-map code asks it for the
    rank and all-reduces the counts."""
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()
