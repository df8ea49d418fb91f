"""Beyond this process: ranks on torch.distributed (spawned here, or under torchrun) and, for groups that
manage machines, hosts reached over SSH. fireflyer never speaks a cluster protocol of its own."""

from .launch import DistEnv, dist_env, free_port, launch_local

__all__ = ["DistEnv", "dist_env", "free_port", "launch_local"]
