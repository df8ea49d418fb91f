"""Seeded loads shared by the eplb tests."""

import numpy as np


def zipf_loads(layers: int, experts: int, exponent: float, seed: int, noise: float = 0.0) -> np.ndarray:
    """Seeded Zipf-like loads: a random expert order per layer, load rank**-exponent, optional lognormal
    noise."""
    rng = np.random.default_rng(seed)
    base = np.arange(1, experts + 1, dtype=np.float64) ** -exponent * 1000
    rows = [rng.permutation(base) * (rng.lognormal(0, noise, experts) if noise else 1) for _ in range(layers)]
    return np.array(rows, dtype=np.float32)


class Ran:
    """What a `flyer` run gave: exit status, stdout, stderr (the fields subprocess results have)."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(*args) -> Ran:
    """`flyer ARGS` in this process (no interpreter start): for tests of what a command does. Tests of the
    installed console script use conftest.run_flyer."""
    from typer.testing import CliRunner

    from fireflyer.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    return Ran(r.exit_code, r.stdout, r.stderr)
