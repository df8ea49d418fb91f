"""Hardware, model and deployment profiles: shipped YAML, user overrides, one schema, and detection."""

from .._lazy import attach

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
        "schema": [
            "DeploymentProfile",
            "HardwareProfile",
            "HostInfo",
            "KINDS",
            "ModelProfile",
            "PeakTflops",
            "Profile",
        ],
    },
)
