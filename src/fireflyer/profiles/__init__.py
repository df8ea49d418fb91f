"""Hardware, model and deployment profiles: shipped YAML, user overrides, one schema, and detection."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .detection import cache_dir as cache_dir
    from .detection import cached_profile_path as cached_profile_path
    from .detection import check_name as check_name
    from .detection import detect as detect
    from .detection import detect_cached as detect_cached
    from .detection import detect_gpus as detect_gpus
    from .detection import triad_array_bytes as triad_array_bytes
    from .loader import SHIPPED_DIR as SHIPPED_DIR
    from .loader import Entry as Entry
    from .loader import catalog as catalog
    from .loader import check_kind as check_kind
    from .loader import deployment as deployment
    from .loader import find as find
    from .loader import hardware as hardware
    from .loader import load_file as load_file
    from .loader import match_gpu as match_gpu
    from .loader import model as model
    from .loader import parse as parse
    from .loader import prepare_profile_path as prepare_profile_path
    from .loader import to_dict as to_dict
    from .loader import to_yaml as to_yaml
    from .loader import user_dir as user_dir
    from .loader import user_dirs as user_dirs
    from .reports import FileCheck as FileCheck
    from .reports import Listed as Listed
    from .reports import Shown as Shown
    from .reports import Validation as Validation
    from .reports import listing as listing
    from .reports import shown as shown
    from .reports import validate as validate
    from .schema import PROFILE_KINDS as PROFILE_KINDS
    from .schema import DeploymentProfile as DeploymentProfile
    from .schema import HardwareProfile as HardwareProfile
    from .schema import HostInfo as HostInfo
    from .schema import ModelProfile as ModelProfile
    from .schema import PeakTflops as PeakTflops
    from .schema import Profile as Profile
    from .schema import ProfileKind as ProfileKind

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "detection": [
            "cache_dir",
            "cached_profile_path",
            "check_name",
            "detect",
            "detect_cached",
            "detect_gpus",
            "triad_array_bytes",
        ],
        "loader": [
            "SHIPPED_DIR",
            "Entry",
            "catalog",
            "check_kind",
            "deployment",
            "find",
            "hardware",
            "load_file",
            "match_gpu",
            "model",
            "parse",
            "prepare_profile_path",
            "to_dict",
            "to_yaml",
            "user_dir",
            "user_dirs",
        ],
        "reports": ["FileCheck", "Listed", "Shown", "Validation", "listing", "shown", "validate"],
        "schema": [
            "DeploymentProfile",
            "HardwareProfile",
            "HostInfo",
            "PROFILE_KINDS",
            "ProfileKind",
            "ModelProfile",
            "PeakTflops",
            "Profile",
        ],
    },
)
