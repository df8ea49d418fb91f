"""Where a plan's layout comes from when the user does not spell it out: the model and deployment profiles.

A deployment profile (``deepseek-v3-decode``: 18 nodes, EP144, 32 redundant experts) gives nodes, GPUs and
physical slots; a model profile gives the expert groups and the routed-expert count loads must match.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import profiles
from ..errors import InputError


@dataclass(frozen=True)
class Layout:
    """Physical slots per layer, expert groups, nodes and GPUs of a plan, and where each came from."""

    replicas: int
    groups: int
    nodes: int
    gpus: int
    model: str | None
    sources: dict[str, str]


def redundant_experts(model: str) -> int:
    """Redundant slots the deployments of ``model`` that name any (serving units) use, where they all agree;
    else 0."""
    rows, _ = profiles.catalog("deployment")
    names = _names(model)
    counts = {
        e.profile.redundant_experts
        for e in rows  # type: ignore[union-attr]
        if e.profile.model in names and e.profile.redundant_experts is not None
    }  # type: ignore[union-attr]
    return counts.pop() if len(counts) == 1 else 0


def _names(model: str) -> set[str]:
    m = profiles.model(model)
    return {m.name, *m.aliases}


def layout(
    experts: int,
    *,
    model: str | None = None,
    deployment: str | None = None,
    replicas: int | None = None,
    groups: int | None = None,
    nodes: int | None = None,
    gpus: int | None = None,
) -> Layout:
    """The layout for loads of ``experts`` logical experts per layer: what is given, else the deployment's
    and the model's, else one node of 8 GPUs, one group and no redundant slots."""
    src: dict[str, str] = {}
    dep = profiles.deployment(deployment) if deployment else None
    model = model or (dep.model if dep else None)
    prof = profiles.model(model) if model else None
    if prof is not None and prof.routed_experts != experts:
        cause = ""
        if experts > prof.routed_experts:
            cause = (
                f"; {experts} looks like physical slots ({experts - prof.routed_experts} redundant), "
                "pass the logical (per-expert) counts"
            )
        raise InputError(
            f"the load has {experts} experts per layer, model {prof.name} has {prof.routed_experts}{cause}",
            field="model",
        )

    def pick(name: str, given: int | None, derived: int | None, why: str, default: int) -> int:
        if given is not None:
            src[name] = "given"
            return given
        if derived is not None:
            src[name] = why
            return derived
        src[name] = "default"
        return default

    nodes = pick("nodes", nodes, dep.nodes if dep else None, f"deployment {deployment}", 1)
    gpus = pick("gpus", gpus, (dep.ep or dep.gpus) if dep else None, f"deployment {deployment}", 8)
    groups = pick("groups", groups, prof.expert_groups if prof else None, f"model {model}", 1)
    extra = (
        dep.redundant_experts
        if dep is not None and dep.redundant_experts is not None
        else (redundant_experts(model) if model else None)
    )
    why = f"deployment {deployment}" if dep is not None else f"model {model}'s published deployments"
    replicas = pick(
        "replicas",
        replicas,
        None if extra is None else experts + extra,
        f"{why}: {experts} experts + {extra} redundant",
        experts,
    )
    return Layout(
        replicas=replicas,
        groups=groups,
        nodes=nodes,
        gpus=gpus,
        model=prof.name if prof else None,
        sources=src,
    )


def expert_bytes(model: str | None = None, given: int | None = None) -> tuple[int, str]:
    """Bytes moved per expert copy: ``given``, else the model profile's FP8 size (default deepseek-v3)."""
    if given is not None:
        if given < 0:
            raise InputError(f"must be non-negative, got {given}", field="expert-bytes")
        return given, "--expert-bytes"
    name = model or "deepseek-v3"
    return int(profiles.model(name).expert_bytes.fp8), f"{name} fp8"
