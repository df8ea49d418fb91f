"""The one schema every profile validates against: hardware, model and deployment profiles.

Field names are part of the interface: other tools read them. Units are in the names
(``_gib``, ``_gbps`` = GB/s, ``_tflops``); peaks are dense figures, never with-sparsity ones.
"""

from __future__ import annotations

from typing import Annotated, Union

from msgspec import Meta, Struct

from ..compat import StrEnum

PosInt = Annotated[int, Meta(gt=0)]
NonNegInt = Annotated[int, Meta(ge=0)]
PosFloat = Annotated[float, Meta(gt=0)]
Name = Annotated[str, Meta(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")]


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class PeakTflops(_Base):
    """Dense peak TFLOP/s by data type (never the with-sparsity figures)."""

    fp32: PosFloat
    tf32: PosFloat | None = None
    bf16: PosFloat | None = None
    fp16: PosFloat | None = None
    fp8: PosFloat | None = None


class DetectedGpu(_Base):
    index: NonNegInt
    device_name: str
    memory_gib: PosFloat
    sm_count: PosInt
    profile: str | None = None
    """The shipped hardware profile this GPU matched, if any."""


class HostInfo(_Base):
    """What `flyer profiles detect` saw of the host."""

    cpu_model: str
    physical_cores: PosInt
    logical_cores: PosInt
    threads_used: PosInt
    memory_gib: PosFloat
    isa: str
    triad_array_mib: PosFloat
    triad_runs: PosInt
    fma_runs: PosInt
    gpus: list[DetectedGpu] = []
    triad_sizing: str | None = None
    """Why the triad arrays have the size they have (the cache the threads can use, the memory available)."""

    def __post_init__(self) -> None:
        if self.threads_used > self.logical_cores:
            raise ValueError(
                f"threads_used {self.threads_used} exceeds the {self.logical_cores} logical cores"
            )


class HardwareProfile(_Base, tag_field="kind", tag="hardware"):
    name: Name
    vendor: str
    memory_gib: PosFloat
    hbm_gbps: PosFloat
    """Memory bandwidth in GB/s (HBM for GPUs; measured triad bandwidth for a detected CPU)."""
    peak_tflops: PeakTflops
    sources: dict[str, str]
    """Where each figure comes from: field name -> citation."""
    description: str = ""
    aliases: list[str] = []
    device_names: list[str] = []
    """Substrings of torch.cuda.get_device_name() that identify this hardware."""
    sm_count: PosInt | None = None
    l2_mib: PosFloat | None = None
    practical_tflops: dict[str, float] | None = None
    """Published sustained figures where they differ from the peaks (e.g. H800 clock throttling)."""
    nvlink_gbps: PosFloat | None = None
    """NVLink bandwidth per GPU, GB/s, both directions together."""
    practical_nvlink_gbps: PosFloat | None = None
    """NVLink bandwidth achieved by real collectives (DeepEP intranode), GB/s."""
    rdma_gbps: PosFloat | None = None
    """Scale-out RDMA bandwidth per GPU, GB/s, one direction."""
    measured: bool = False
    host: HostInfo | None = None


class MlaDims(_Base):
    heads: PosInt
    q_lora_rank: PosInt | None
    """None where queries are not low-rank compressed (DeepSeek-V2-Lite)."""
    kv_lora_rank: PosInt
    qk_nope_head_dim: PosInt
    qk_rope_head_dim: PosInt
    v_head_dim: PosInt


class ExpertBytes(_Base):
    """Bytes of one routed expert's weights (gate, up and down projections)."""

    fp8: PosInt
    """FP8 E4M3 weights plus their float32 128x128 block scales."""
    bf16: PosInt


class ModelProfile(_Base, tag_field="kind", tag="model"):
    name: Name
    layers: PosInt
    dense_layers: NonNegInt
    """Dense (non-MoE) layers before the first MoE layer."""
    moe_layers: PosInt
    routed_experts: PosInt
    shared_experts: NonNegInt
    experts_per_token: PosInt
    expert_groups: PosInt
    groups_per_token: PosInt
    hidden_size: PosInt
    moe_intermediate_size: PosInt
    intermediate_size: PosInt
    """FFN width of the dense layers."""
    vocab_size: PosInt
    mla: MlaDims
    expert_bytes: ExpertBytes
    sources: dict[str, str]
    description: str = ""
    aliases: list[str] = []
    mtp_layers: NonNegInt = 0

    def __post_init__(self) -> None:
        if self.dense_layers + self.moe_layers != self.layers:
            raise ValueError(
                f"dense_layers {self.dense_layers} + moe_layers {self.moe_layers} must equal layers "
                f"{self.layers}"
            )
        if self.routed_experts % self.expert_groups:
            raise ValueError(
                f"routed_experts {self.routed_experts} is not a multiple of expert_groups "
                f"{self.expert_groups}"
            )
        if self.groups_per_token > self.expert_groups:
            raise ValueError(
                f"groups_per_token {self.groups_per_token} exceeds expert_groups {self.expert_groups}"
            )
        if self.experts_per_token > self.routed_experts:
            raise ValueError(
                f"experts_per_token {self.experts_per_token} exceeds routed_experts {self.routed_experts}"
            )

    @property
    def first_moe_layer(self) -> int:
        """Decoder-layer id of the first MoE layer (the dense layers come first)."""
        return self.dense_layers


class DeploymentProfile(_Base, tag_field="kind", tag="deployment"):
    """A model deployed on a set of nodes: a serving unit (prefill, decode) or a training job."""

    name: Name
    hardware: str
    """Name of the hardware profile of every GPU."""
    model: str
    phase: str
    """prefill, decode or training."""
    nodes: PosInt
    gpus_per_node: PosInt
    sources: dict[str, str]
    description: str = ""
    aliases: list[str] = []
    ep: PosInt | None = None
    tp: PosInt | None = None
    pp: PosInt | None = None
    dp: PosInt | None = None
    redundant_experts: NonNegInt | None = None
    """Physical expert slots beyond the model's routed experts (EPLB's redundant replicas)."""
    routed_experts_per_gpu: PosInt | None = None
    pipeline_schedule: str | None = None

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    def __post_init__(self) -> None:
        gpus = self.gpus
        for name in ("ep", "tp", "pp", "dp"):
            size = getattr(self, name)
            if size is not None and gpus % size:
                raise ValueError(
                    f"{name} {size} does not divide the {gpus} GPUs ({self.nodes} nodes x "
                    f"{self.gpus_per_node})"
                )
        given = [getattr(self, n) for n in ("tp", "pp", "dp") if getattr(self, n) is not None]
        if len(given) == 3 and self.tp * self.pp * self.dp != gpus:  # type: ignore[operator]
            raise ValueError(f"tp x pp x dp = {self.tp * self.pp * self.dp} is not the {gpus} GPUs")  # type: ignore[operator]


Profile = Union[HardwareProfile, ModelProfile, DeploymentProfile]


class ProfileKind(StrEnum):
    HARDWARE = "hardware"
    MODEL = "model"
    DEPLOYMENT = "deployment"


PROFILE_KINDS: tuple[str, ...] = tuple(k.value for k in ProfileKind)
"""The kinds, in the order catalogues list them."""
