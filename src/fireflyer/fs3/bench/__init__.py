"""Is the file system as fast as it should be? Raw I/O (fio or the core's engine), metadata operations and a
Smallpond GraySort under a path, beside 3FS's published figures, with pass/warn/fail thresholds."""

from ..._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "fio": ["FioRun", "fio_args", "fio_version", "parse_fio_json", "run_fio"],
        "graysort": [
            "SortJob",
            "SortResult",
            "Validation",
            "measure_sort",
            "probe_ray",
            "require_engines",
            "validate_output",
        ],
        "metadata": ["MetaJob", "MetaResult", "PhaseResult", "measure_metadata"],
        "published": ["Reference", "io_reference", "sort_reference"],
        "records": ["generate", "partition_of"],
        "localray": ["LocalRay", "local_ray"],
        "scratch": [
            "Interrupted",
            "as_interrupted",
            "check_target",
            "scratch_dir",
            "signals_as_interrupts",
            "signals_deferred",
        ],
        "suite": ["IO_PATTERNS", "SuiteJob", "SuiteResult", "measure_all", "metrics_of"],
        "thresholds": [
            "Metric",
            "Thresholds",
            "Verdict",
            "judge",
            "load_thresholds",
            "parse_overrides",
            "with_overrides",
        ],
        "workloads": [
            "ENGINES",
            "IoJob",
            "IoResult",
            "Latency",
            "PATTERNS",
            "measure_io",
            "resolve_engine",
            "summarize_latency",
        ],
    },
)
