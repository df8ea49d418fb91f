"""Is the file system as fast as it should be? Raw I/O (fio or the core's engine), metadata operations, the
KVCache read pattern and a Smallpond GraySort under a path, on this host or on every client node of a Ray
cluster at once, beside 3FS's published figures, with pass/warn/fail thresholds."""

from typing import TYPE_CHECKING

from ..._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .clients import BenchHosts as BenchHosts
    from .clients import ClientDone as ClientDone
    from .clients import Clients as Clients
    from .clients import run_on_clients as run_on_clients
    from .fio import FioRun as FioRun
    from .fio import fio_args as fio_args
    from .fio import fio_version as fio_version
    from .fio import parse_fio_json as parse_fio_json
    from .fio import run_fio as run_fio
    from .fleet import aggregate as aggregate
    from .fleet import bench_io as bench_io
    from .fleet import bench_kvcache as bench_kvcache
    from .fleet import bench_meta as bench_meta
    from .fleet import measure_io_clients as measure_io_clients
    from .fleet import measure_kvcache_clients as measure_kvcache_clients
    from .fleet import measure_meta_clients as measure_meta_clients
    from .fleet import spread as spread
    from .graysort import SortJob as SortJob
    from .graysort import SortResult as SortResult
    from .graysort import measure_sort as measure_sort
    from .graysort import require_engines as require_engines
    from .kvcache import KV_BLOCK as KV_BLOCK
    from .kvcache import KvJob as KvJob
    from .kvcache import kvcache_args as kvcache_args
    from .kvcache import measure_kvcache as measure_kvcache
    from .localray import LocalRay as LocalRay
    from .localray import local_ray as local_ray
    from .metadata import MetaJob as MetaJob
    from .metadata import MetaResult as MetaResult
    from .metadata import PhaseResult as PhaseResult
    from .metadata import measure_metadata as measure_metadata
    from .published import Reference as Reference
    from .published import io_cluster_references as io_cluster_references
    from .published import io_reference as io_reference
    from .published import kvcache_reference as kvcache_reference
    from .published import sort_reference as sort_reference
    from .raycluster import probe_ray as probe_ray
    from .records import generate as generate
    from .records import partition_of as partition_of
    from .reports import Aggregate as Aggregate
    from .reports import ClientNode as ClientNode
    from .reports import ClientRun as ClientRun
    from .reports import IoClientsReport as IoClientsReport
    from .reports import IoReport as IoReport
    from .reports import KvClientsReport as KvClientsReport
    from .reports import KvReport as KvReport
    from .reports import Latency as Latency
    from .reports import MetaClientsReport as MetaClientsReport
    from .reports import MetaReport as MetaReport
    from .reports import SortReport as SortReport
    from .reports import Spread as Spread
    from .reports import SuiteReport as SuiteReport
    from .reports import Validation as Validation
    from .reports import Verdict as Verdict
    from .scratch import Interrupted as Interrupted
    from .scratch import as_interrupted as as_interrupted
    from .scratch import check_target as check_target
    from .scratch import scratch_dir as scratch_dir
    from .scratch import signals_as_interrupts as signals_as_interrupts
    from .scratch import signals_deferred as signals_deferred
    from .sortcheck import validate_output as validate_output
    from .suite import IO_PATTERNS as IO_PATTERNS
    from .suite import SuiteJob as SuiteJob
    from .suite import SuiteResult as SuiteResult
    from .suite import measure_all as measure_all
    from .suite import metrics_of as metrics_of
    from .thresholds import Metric as Metric
    from .thresholds import Thresholds as Thresholds
    from .thresholds import judge as judge
    from .thresholds import load_thresholds as load_thresholds
    from .thresholds import parse_overrides as parse_overrides
    from .thresholds import thresholds_from as thresholds_from
    from .thresholds import with_overrides as with_overrides
    from .workloads import ENGINES as ENGINES
    from .workloads import PATTERNS as PATTERNS
    from .workloads import IoJob as IoJob
    from .workloads import measure_io as measure_io
    from .workloads import resolve_engine as resolve_engine
    from .workloads import summarize_latency as summarize_latency

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "clients": ["BenchHosts", "ClientDone", "Clients", "run_on_clients"],
        "fleet": [
            "aggregate",
            "bench_io",
            "bench_kvcache",
            "bench_meta",
            "measure_io_clients",
            "measure_kvcache_clients",
            "measure_meta_clients",
            "spread",
        ],
        "fio": ["FioRun", "fio_args", "fio_version", "parse_fio_json", "run_fio"],
        "graysort": [
            "SortJob",
            "SortResult",
            "measure_sort",
            "require_engines",
        ],
        "kvcache": ["KV_BLOCK", "KvJob", "kvcache_args", "measure_kvcache"],
        "metadata": ["MetaJob", "MetaResult", "PhaseResult", "measure_metadata"],
        "published": [
            "Reference",
            "io_cluster_references",
            "io_reference",
            "kvcache_reference",
            "sort_reference",
        ],
        "raycluster": ["probe_ray"],
        "records": ["generate", "partition_of"],
        "reports": [
            "Aggregate",
            "ClientNode",
            "ClientRun",
            "IoClientsReport",
            "IoReport",
            "KvClientsReport",
            "KvReport",
            "Latency",
            "MetaClientsReport",
            "MetaReport",
            "Spread",
            "SortReport",
            "SuiteReport",
            "Validation",
            "Verdict",
        ],
        "localray": ["LocalRay", "local_ray"],
        "scratch": [
            "Interrupted",
            "as_interrupted",
            "check_target",
            "scratch_dir",
            "signals_as_interrupts",
            "signals_deferred",
        ],
        "sortcheck": ["validate_output"],
        "suite": ["IO_PATTERNS", "SuiteJob", "SuiteResult", "measure_all", "metrics_of"],
        "thresholds": [
            "Metric",
            "Thresholds",
            "judge",
            "load_thresholds",
            "parse_overrides",
            "thresholds_from",
            "with_overrides",
        ],
        "workloads": [
            "ENGINES",
            "IoJob",
            "PATTERNS",
            "measure_io",
            "resolve_engine",
            "summarize_latency",
        ],
    },
)
