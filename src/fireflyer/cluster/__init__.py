"""Beyond this process: ranks on torch.distributed (spawned here, or under torchrun) and, for groups that
manage machines, hosts reached over SSH. fireflyer never speaks a cluster protocol of its own."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "environment": ["DistEnv", "dist_env", "free_port"],
        "ranks": ["launch_local", "process_group"],
    },
)
