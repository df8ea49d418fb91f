"""Hardware, model and cluster profiles: shipped YAML, user overrides, one schema, and detection."""

from .detect import detect
from .loader import (
    SHIPPED_DIR,
    Entry,
    catalog,
    cluster,
    find,
    hardware,
    load_file,
    match_gpu,
    model,
    parse,
    to_dict,
    to_yaml,
    user_dirs,
)
from .schema import ClusterProfile, HardwareProfile, HostInfo, ModelProfile, PeakTflops, Profile

__all__ = [
    "SHIPPED_DIR", "ClusterProfile", "Entry", "HardwareProfile", "HostInfo", "ModelProfile", "PeakTflops",
    "Profile", "catalog", "cluster", "detect", "find", "hardware", "load_file", "match_gpu", "model", "parse",
    "to_dict", "to_yaml", "user_dirs",
]
