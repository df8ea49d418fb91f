"""3FS operations: chain placement and tables, cluster descriptions, rendered configs, preflight checks,
deployment over SSH, and cluster health from admin_cli; ``fireflyer.fs3.bench`` measures a mount against
the published figures."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "chains": ["Chain", "Target", "build", "chain_id", "decode_chain", "decode_target", "target_id"],
        "checks": ["Check", "local_checks"],
        "deployment": ["Plan", "deploy", "teardown"],
        "health": ["Health", "assess", "parse_table"],
        "placement": ["Placement", "Shape", "extend", "pair_histogram", "place", "shape"],
        "rendering": ["Bundle", "chain_layout", "chain_table", "render", "validate"],
        "spec": ["Cluster", "Node", "load"],
        "example": ["example_fdb_cluster", "example_yaml"],
        "bench": [],
    },
)
