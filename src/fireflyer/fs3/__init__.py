"""3FS operations: chain placement and tables, cluster descriptions, rendered configs, preflight checks,
deployment over SSH, and cluster health from admin_cli; ``fireflyer.fs3.bench`` measures a mount against
the published figures."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from . import bench as bench
    from .actions import ActionLog as ActionLog
    from .admin import assess_remote as assess_remote
    from .admin import listings as listings
    from .chains import Chain as Chain
    from .chains import Target as Target
    from .chains import build as build
    from .chains import chain_id as chain_id
    from .chains import decode_chain as decode_chain
    from .chains import decode_target as decode_target
    from .chains import target_id as target_id
    from .checks import local_checks as local_checks
    from .checks import remote_checks as remote_checks
    from .deployment import deploy as deploy
    from .example import example_fdb_cluster as example_fdb_cluster
    from .example import example_yaml as example_yaml
    from .example import write_example as write_example
    from .health import Health as Health
    from .health import assess as assess
    from .health import assess_saved as assess_saved
    from .health import parse_table as parse_table
    from .placement import Placement as Placement
    from .placement import Shape as Shape
    from .placement import extend as extend
    from .placement import pair_histogram as pair_histogram
    from .placement import place as place
    from .placement import shape as shape
    from .planning import plan_add_nodes as plan_add_nodes
    from .planning import plan_chains as plan_chains
    from .removal import teardown as teardown
    from .rendering import Bundle as Bundle
    from .rendering import render as render
    from .rendering import render_to as render_to
    from .reports import Action as Action
    from .reports import ActionReport as ActionReport
    from .reports import AddNodesReport as AddNodesReport
    from .reports import ChainLayout as ChainLayout
    from .reports import Check as Check
    from .reports import HealthReport as HealthReport
    from .reports import InitReport as InitReport
    from .reports import PlanReport as PlanReport
    from .reports import PreflightReport as PreflightReport
    from .reports import RenderReport as RenderReport
    from .services import Paths as Paths
    from .services import paths as paths
    from .spec import Cluster as Cluster
    from .spec import Node as Node
    from .spec import load as load
    from .ssh import SshSettings as SshSettings
    from .validation import chain_layout as chain_layout
    from .validation import chain_table as chain_table
    from .validation import validate as validate

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "actions": ["ActionLog"],
        "chains": ["Chain", "Target", "build", "chain_id", "decode_chain", "decode_target", "target_id"],
        "checks": ["local_checks", "remote_checks"],
        "deployment": ["deploy"],
        "removal": ["teardown"],
        "admin": ["assess_remote", "listings"],
        "health": ["Health", "assess", "assess_saved", "parse_table"],
        "placement": ["Placement", "Shape", "extend", "pair_histogram", "place", "shape"],
        "planning": ["plan_add_nodes", "plan_chains"],
        "rendering": ["Bundle", "render", "render_to"],
        "validation": ["chain_layout", "chain_table", "validate"],
        "services": ["Paths", "paths"],
        "ssh": ["SshSettings"],
        "reports": [
            "Action",
            "ActionReport",
            "AddNodesReport",
            "ChainLayout",
            "Check",
            "HealthReport",
            "InitReport",
            "PlanReport",
            "PreflightReport",
            "RenderReport",
        ],
        "spec": ["Cluster", "Node", "load"],
        "example": ["example_fdb_cluster", "example_yaml", "write_example"],
        "bench": [],
    },
)
