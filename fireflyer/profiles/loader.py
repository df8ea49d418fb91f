"""Finding, loading and validating profiles: shipped ones, user directories, single files.

Search order (the first one of a name wins): each directory in ``FLYER_PROFILES`` (colon separated),
then ``~/.config/fireflyer/profiles/``, then the profiles shipped in this package. A user profile
therefore overrides a shipped one of the same name; ``Entry.shadows`` lists what it hides.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import msgspec
import yaml

from ..errors import InputError
from .schema import KINDS, ClusterProfile, HardwareProfile, ModelProfile, Profile

SHIPPED_DIR = Path(__file__).parent / "data"
_TYPES = {"hardware": HardwareProfile, "model": ModelProfile, "cluster": ClusterProfile}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
T = TypeVar("T", HardwareProfile, ModelProfile, ClusterProfile)


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
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    dirs.append((config_home / "fireflyer" / "profiles", "user"))
    return dirs


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def parse(data: object, *, file: str) -> Profile:
    """Validate one parsed YAML document as a profile; errors name the file and the field."""
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of profile fields, got {type(data).__name__}", file=file)
    kind = data.get("kind")
    if kind is None:
        raise InputError(f"missing required field; expected one of {', '.join(KINDS)}", file=file, field="kind")
    if kind not in _TYPES:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", file=file, field="kind")
    try:
        return msgspec.convert(data, _TYPES[kind], strict=True)
    except msgspec.ValidationError as e:
        msg, fld = _split_validation_error(str(e))
        raise InputError(msg, file=file, field=fld) from None


def _split_validation_error(text: str) -> tuple[str, str | None]:
    # msgspec: "Expected `int`, got `str` - at `$.mla.heads`" / "Object missing required field `x` - at `$.mla`"
    m = re.match(r"^(.*?)(?: - at `\$(.*)`)?$", text, re.S)
    msg, path = (m.group(1), m.group(2)) if m else (text, None)
    path = (path or "").lstrip(".")
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    named = re.search(r"(?:missing required field|unknown field) `([^`]+)`", msg)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    msg = msg.replace("Object missing required field", "missing required field")
    msg = msg.replace("Object contains unknown field", "unknown field")
    msg = re.sub(r"Expected `([^`]+)`, got `([^`]+)`", r"expected \1, got \2", msg)
    return msg, path or None


def load_file(path: str | os.PathLike) -> Profile:
    """Load and validate one profile file (YAML, one document)."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError("profile file not found", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read profile: {e}", file=str(p)) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "parse error"
        raise InputError(f"not valid YAML: {problem}{where}", file=str(p)) from None
    if data is None:
        raise InputError("profile file is empty", file=str(p))
    return parse(data, file=str(p))


def _scan() -> tuple[dict[str, Entry], list[InputError]]:
    entries: dict[str, Entry] = {}
    problems: list[InputError] = []
    sources = [*user_dirs(), (SHIPPED_DIR, "shipped")]
    for directory, origin in sources:
        for f in _files(directory):
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
    return entries, problems


def catalog(kind: str | None = None) -> tuple[list[Entry], list[InputError]]:
    """Every profile found, sorted by kind then name, and the files that failed validation."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", field="kind")
    entries, problems = _scan()
    rows = [e for e in entries.values() if kind is None or e.kind == kind]
    rows.sort(key=lambda e: (KINDS.index(e.kind), e.name))
    return rows, problems


def find(name: str, kind: str | None = None) -> Entry:
    """The profile called ``name`` (or with that alias), optionally of one kind."""
    entries, problems = _scan()
    hit = entries.get(name)
    if hit is None:
        for e in entries.values():
            if name in getattr(e.profile, "aliases", ()):
                hit = e
                break
    if hit is not None and (kind is None or hit.kind == kind):
        return hit
    for prob in problems:  # a broken user file of that name should say so, not "not found"
        if prob.file and Path(prob.file).stem == name:
            raise prob
    known = sorted(e.name for e in entries.values() if kind is None or e.kind == kind)
    what = f"{kind} profile" if kind else "profile"
    raise InputError(f"no {what} named {name!r}; known: {', '.join(known)}",
                     hint="see `flyer profiles list`")


def _typed(name: str, kind: str, cls: type[T]) -> T:
    prof = find(name, kind).profile
    assert isinstance(prof, cls)
    return prof


def hardware(name: str) -> HardwareProfile:
    return _typed(name, "hardware", HardwareProfile)


def model(name: str) -> ModelProfile:
    return _typed(name, "model", ModelProfile)


def cluster(name: str) -> ClusterProfile:
    return _typed(name, "cluster", ClusterProfile)


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
    """The hardware profile whose ``device_names`` occurs in a CUDA device name, if any."""
    rows, _ = catalog("hardware")
    best: tuple[int, HardwareProfile] | None = None
    low = device_name.lower()
    for e in rows:
        for pat in e.profile.device_names:  # type: ignore[union-attr]
            if pat.lower() in low and (best is None or len(pat) > best[0]):
                best = (len(pat), e.profile)  # type: ignore[assignment]
    return best[1] if best else None
