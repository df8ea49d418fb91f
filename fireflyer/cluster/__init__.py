"""What spans processes and machines: launching torch.distributed workers locally or under torchrun."""

from .launch import DistEnv, dist_env, free_port, launch_local

__all__ = ["DistEnv", "dist_env", "free_port", "launch_local"]
