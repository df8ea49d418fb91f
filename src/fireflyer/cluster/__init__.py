"""Beyond this process: ranks on torch.distributed (spawned here, or under torchrun) and, for groups that
manage machines, hosts reached over SSH. fireflyer never speaks a cluster protocol of its own."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .environment import DistEnv as DistEnv
    from .environment import dist_env as dist_env
    from .environment import free_port as free_port
    from .ranks import launch_local as launch_local
    from .ranks import process_group as process_group

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "environment": ["DistEnv", "dist_env", "free_port"],
        "ranks": ["launch_local", "process_group"],
    },
)
