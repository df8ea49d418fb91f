"""Finding, loading and validating profiles: shipped YAML, user directories, single files.

Search order (the first one of a name wins): each directory in ``FLYER_PROFILES`` (colon separated),
then ``~/.config/fireflyer/profiles/``, then the profiles shipped in this package. A user profile
therefore overrides a shipped one of the same name; ``Entry.shadows`` lists what it hides. A deployment
must name hardware and a model that exist, and its slots must fit the model.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import msgspec
import yaml

from .. import io
from ..errors import InputError
from .schema import PROFILE_KINDS, DeploymentProfile, HardwareProfile, ModelProfile, Profile

SHIPPED_DIR = Path(__file__).parent / "data"
_TYPES: dict[str, type[Profile]] = {
    "hardware": HardwareProfile,
    "model": ModelProfile,
    "deployment": DeploymentProfile,
}
_LEGACY_KINDS = {"cluster": "deployment"}  # NOTE: profiles written before 0.2 said `kind: cluster`
T = TypeVar("T", HardwareProfile, ModelProfile, DeploymentProfile)


@dataclass(frozen=True)
class Entry:
    """One profile as found: the validated profile, its file, and where that file sits."""

    profile: Profile
    path: Path
    origin: str  # "shipped", "user" or "FLYER_PROFILES"
    shadows: tuple[Path, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def kind(self) -> str:
        return type(self.profile).__struct_config__.tag  # type: ignore[return-value]


def user_dirs() -> list[tuple[Path, str]]:
    """The user profile directories in search order, with their origin label."""
    dirs: list[tuple[Path, str]] = []
    for part in os.environ.get("FLYER_PROFILES", "").split(":"):
        if part.strip():
            dirs.append((Path(part).expanduser(), "FLYER_PROFILES"))
    dirs.append((user_dir(), "user"))
    return dirs


def user_dir() -> Path:
    """Where a user's own profiles live: ``$XDG_CONFIG_HOME/fireflyer/profiles`` (default ~/.config)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "fireflyer" / "profiles"


def prepare_profile_path(path: str | os.PathLike) -> Path:
    """Where to write a profile: a path in the user profile directory gets that directory created; any other
    path must be in a directory that exists (checked now, before measuring)."""
    p = Path(path).expanduser()
    parent = p.parent.resolve()
    if not parent.is_dir():
        if parent == user_dir().resolve():
            parent.mkdir(parents=True, exist_ok=True)
        else:
            raise InputError("directory does not exist", file=str(p), hint="create it first")
    return p


MAX_ENTRIES = 10_000
"""Entries a profile directory (subfolders included) may hold: a search path set to ``/`` or ``/proc`` by
mistake is refused at once, not walked."""


def _files(directory: Path, origin: str = "profile directory") -> list[Path]:
    """The YAML files under ``directory`` (links to folders not followed; entries that vanish while
    listed, as in /proc, skipped). A missing directory has none; more than MAX_ENTRIES is an InputError."""
    if not directory.is_dir():
        return []
    found: list[Path] = []
    seen = 0
    for root, dirs, files in os.walk(directory, followlinks=False):
        seen += len(dirs) + len(files)
        if seen > MAX_ENTRIES:
            raise InputError(
                f"holds more than {MAX_ENTRIES:,} entries; expected a folder of profile YAML files",
                file=str(directory),
                field=origin if origin == "FLYER_PROFILES" else None,
            )
        dirs.sort()
        found.extend(Path(root) / f for f in files if f.endswith((".yaml", ".yml")))
    return sorted(f for f in found if f.is_file())


def check_kind(kind: str | None) -> str | None:
    """A kind name as given on the command line (``cluster`` is the old name of ``deployment``)."""
    if kind is None:
        return None
    kind = _LEGACY_KINDS.get(kind, kind)
    if kind not in PROFILE_KINDS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(PROFILE_KINDS)}", field="kind")
    return kind


def parse(data: object, *, file: str) -> Profile:
    """Validate one parsed YAML document as a profile; errors name the file and the field."""
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of profile fields, got {type(data).__name__}", file=file)
    kind = data.get("kind")
    if kind is None:
        raise InputError(
            f"missing required field; expected one of {', '.join(PROFILE_KINDS)}", file=file, field="kind"
        )
    if kind in _LEGACY_KINDS:
        data = {**data, "kind": _LEGACY_KINDS[kind]}
        kind = _LEGACY_KINDS[kind]
    if kind not in _TYPES:
        raise InputError(
            f"unknown kind {kind!r}; expected one of {', '.join(PROFILE_KINDS)}", file=file, field="kind"
        )
    return io.convert(data, _TYPES[kind], file=file)


def load_file(path: str | os.PathLike) -> Profile:
    """Load and validate one profile file (YAML, one document)."""
    return parse(
        io.load_document(path, what="profile file", fmt="yaml", limit=io.LIMITS["profile"]), file=str(path)
    )


@functools.cache
def _scan_cached(key: tuple) -> tuple[dict[str, Entry], tuple[InputError, ...]]:
    entries: dict[str, Entry] = {}
    problems: list[InputError] = []
    sources = [*user_dirs(), (SHIPPED_DIR, "shipped")]
    for directory, origin in sources:
        for f in _files(directory, origin):
            try:
                prof = load_file(f)
            except InputError as e:
                problems.append(e)
                continue
            if prof.name in entries:
                first = entries[prof.name]
                entries[prof.name] = Entry(first.profile, first.path, first.origin, (*first.shadows, f))
            else:
                entries[prof.name] = Entry(prof, f, origin)
    for entry in list(entries.values()):
        if isinstance(entry.profile, DeploymentProfile):
            try:
                _check_deployment(entry.profile, entries, str(entry.path))
            except InputError as err:
                problems.append(err)
                del entries[entry.name]
    return entries, tuple(problems)


def _scan() -> tuple[dict[str, Entry], tuple[InputError, ...]]:
    # NOTE: cached per search path and file times, so a command that looks up several profiles reads them
    # once.
    dirs = [*user_dirs(), (SHIPPED_DIR, "shipped")]
    key = tuple((str(d), tuple((str(f), f.stat().st_mtime_ns) for f in _files(d, o))) for d, o in dirs)
    return _scan_cached(key)


def _resolve(name: str, entries: dict[str, Entry]) -> Entry | None:
    hit = entries.get(name)
    if hit is None:
        for e in entries.values():
            if name in getattr(e.profile, "aliases", ()):
                return e
    return hit


def _check_deployment(d: DeploymentProfile, entries: dict[str, Entry], file: str) -> None:
    hw, model = _resolve(d.hardware, entries), _resolve(d.model, entries)
    if hw is None or hw.kind != "hardware":
        raise InputError(
            f"names hardware {d.hardware!r}, which is no hardware profile", file=file, field="hardware"
        )
    if model is None or model.kind != "model":
        raise InputError(f"names model {d.model!r}, which is no model profile", file=file, field="model")
    m = model.profile
    assert isinstance(m, ModelProfile)
    if d.ep is not None and d.routed_experts_per_gpu is not None:
        slots = d.ep * d.routed_experts_per_gpu
        want = m.routed_experts + (d.redundant_experts or 0)
        if slots != want:
            raise InputError(
                f"ep {d.ep} x routed_experts_per_gpu {d.routed_experts_per_gpu} = {slots} slots, but "
                f"{m.name} has {m.routed_experts} routed experts + {d.redundant_experts or 0} redundant",
                file=file,
                field="routed_experts_per_gpu",
            )


def catalog(kind: str | None = None) -> tuple[list[Entry], list[InputError]]:
    """Every profile found, sorted by kind then name, and the files that failed validation."""
    kind = check_kind(kind)
    entries, problems = _scan()
    rows = [e for e in entries.values() if kind is None or e.kind == kind]
    rows.sort(key=lambda e: (PROFILE_KINDS.index(e.kind), e.name))
    return rows, list(problems)


def find(name: str, kind: str | None = None) -> Entry:
    """The profile called ``name`` (or with that alias), optionally of one kind."""
    entries, problems = _scan()
    hit = _resolve(name, entries)
    if hit is not None and (kind is None or hit.kind == kind):
        return hit
    for prob in problems:  # a broken user file of that name should say so, not "not found"
        if prob.file and Path(prob.file).stem == name:
            raise prob
    known = sorted(e.name for e in entries.values() if kind is None or e.kind == kind)
    what = f"{kind} profile" if kind else "profile"
    raise InputError(f"no {what} named {name!r}; known: {', '.join(known)}", hint="see `flyer profiles list`")


def _typed(name: str, kind: str, cls: type[T]) -> T:
    prof = find(name, kind).profile
    assert isinstance(prof, cls)
    return prof


def hardware(name: str) -> HardwareProfile:
    return _typed(name, "hardware", HardwareProfile)


def model(name: str) -> ModelProfile:
    return _typed(name, "model", ModelProfile)


def deployment(name: str) -> DeploymentProfile:
    return _typed(name, "deployment", DeploymentProfile)


_FIRST = ("kind", "name", "description", "aliases")


def to_dict(profile: Profile) -> dict:
    """The profile as plain data: kind, name, description and aliases first, then the schema's order,
    ``sources`` last."""
    data = msgspec.to_builtins(profile)
    ordered = {k: data[k] for k in _FIRST if k in data}
    ordered.update((k, v) for k, v in data.items() if k not in ordered and k != "sources")
    if "sources" in data:
        ordered["sources"] = data["sources"]
    return ordered


def to_yaml(profile: Profile) -> str:
    return yaml.safe_dump(to_dict(profile), sort_keys=False, default_flow_style=False, width=100)


def match_gpu(device_name: str) -> HardwareProfile | None:
    """The hardware profile whose ``device_names`` occurs in a CUDA device name as whole words, if any; the
    longest (most specific) match wins: ``NVIDIA H100 PCIe`` is h100-pcie, not h100-sxm's ``H100``, and
    ``NVIDIA GH200`` is not an H200."""
    rows, _ = catalog("hardware")
    best: tuple[int, HardwareProfile] | None = None
    for e in rows:
        for pat in e.profile.device_names:  # type: ignore[union-attr]
            whole = re.search(rf"(?<![a-z0-9]){re.escape(pat.lower())}(?![a-z0-9])", device_name.lower())
            if whole and (best is None or len(pat) > best[0]):
                best = (len(pat), e.profile)  # type: ignore[assignment]
    return best[1] if best else None
