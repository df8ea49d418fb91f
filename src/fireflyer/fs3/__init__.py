"""3FS operations: chain placement and tables, cluster descriptions, rendered configs, preflight checks,
deployment over SSH, and cluster health from admin_cli; ``fireflyer.fs3.bench`` measures a mount against
the published figures."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from . import bench as bench
    from .chains import Chain as Chain
    from .chains import Target as Target
    from .chains import build as build
    from .chains import chain_id as chain_id
    from .chains import decode_chain as decode_chain
    from .chains import decode_target as decode_target
    from .chains import target_id as target_id
    from .checks import Check as Check
    from .checks import local_checks as local_checks
    from .deployment import Plan as Plan
    from .deployment import deploy as deploy
    from .deployment import teardown as teardown
    from .example import example_fdb_cluster as example_fdb_cluster
    from .example import example_yaml as example_yaml
    from .health import Health as Health
    from .health import assess as assess
    from .health import parse_table as parse_table
    from .placement import Placement as Placement
    from .placement import Shape as Shape
    from .placement import extend as extend
    from .placement import pair_histogram as pair_histogram
    from .placement import place as place
    from .placement import shape as shape
    from .rendering import Bundle as Bundle
    from .rendering import chain_layout as chain_layout
    from .rendering import chain_table as chain_table
    from .rendering import render as render
    from .rendering import validate as validate
    from .spec import Cluster as Cluster
    from .spec import Node as Node
    from .spec import load as load

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
