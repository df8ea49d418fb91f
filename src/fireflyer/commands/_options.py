"""Option types shared by every command, so that help texts never drift and a bad number is refused once,
at parsing, with one line and exit 2: NaN, infinities, negative thresholds, out-of-range counts, empty or
endless ranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..io import parse_size

MAX_VALUES = 100_000
"""The most values one range option may expand to (a sweep of more is refused, not started)."""


INT64 = 2**63


def integer(text: str) -> int:
    """A parser for a whole number that the core's 64-bit integers hold (what it may be is the library's to
    say)."""
    try:
        v = text if isinstance(text, int) else int(text, 10)
    except (TypeError, ValueError):
        raise typer.BadParameter(f"expected a whole number, got {text!r}") from None
    if not -INT64 <= v < INT64:
        raise typer.BadParameter(f"{text} is too large")
    return v


def size(text: str) -> int:
    """A parser for a size in bytes: '4GiB', '512MiB', '4k', '4096' (K, M, G, KiB, MiB, GiB: powers of 1024;
    KB, MB, GB: powers of 1000)."""
    try:
        v = parse_size(text)
    except InputError as e:
        raise typer.BadParameter(e.message) from None
    if v >= INT64:
        raise typer.BadParameter(f"{text} is too large")
    return v


def number(
    *, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A parser for a finite float within bounds (inclusive unless ``*_open``)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except (TypeError, ValueError):
            raise typer.BadParameter(f"expected a number, got {text!r}") from None
        if not math.isfinite(v):
            raise typer.BadParameter(f"expected a finite number, got {text!r}")
        if low is not None and (v < low or (low_open and v == low)):
            raise typer.BadParameter(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        if high is not None and (v > high or (high_open and v == high)):
            raise typer.BadParameter(f"must be {'<' if high_open else '<='} {high:g}, got {text}")
        return v

    return parse


class Values(list):
    """The numbers a range option expanded to (a list; its own type so that Typer parses it as one value)."""


def values(
    kind: type, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> Callable[[str], Values]:
    """A parser for '8', '2,4,8' or 'lo:hi[:step]' (inclusive) into at most MAX_VALUES ints or floats."""
    one = number(low=low, high=high, low_open=low_open)

    def scalar(text: str) -> float | int:
        v = one(text)
        if kind is int:
            if v != int(v):
                raise typer.BadParameter(f"expected whole numbers, got {text!r}")
            return int(v)
        return v

    def parse(text: str) -> Values:
        out = Values()
        for part in text.split(","):
            part = part.strip()
            if not part:
                raise typer.BadParameter(f"empty value in {text!r}")
            bits = part.split(":")
            if len(bits) == 1:
                out.append(scalar(bits[0]))
            elif len(bits) in (2, 3):
                lo, hi = scalar(bits[0]), scalar(bits[1])
                step = scalar(bits[2]) if len(bits) == 3 else 1
                if step <= 0:
                    raise typer.BadParameter(f"the step of {part!r} must be positive")
                if hi < lo:
                    raise typer.BadParameter(f"the range {part!r} is empty (its end is below its start)")
                count = math.floor((hi - lo) / step + 1e-9) + 1
                if count + len(out) > MAX_VALUES:
                    raise typer.BadParameter(f"{part!r} has {count} values; at most {MAX_VALUES} are allowed")
                out.extend(lo + k * step if kind is int else round(lo + k * step, 12) for k in range(count))
            else:
                raise typer.BadParameter(f"expected numbers like '8', '2,4,8' or '2:32:2', got {text!r}")
            if len(out) > MAX_VALUES:
                raise typer.BadParameter(f"at most {MAX_VALUES} values are allowed")
        return out

    return parse


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Write the result to this file (atomically: temp file, fsync, rename).",
        dir_okay=False,
    ),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        metavar="FILE",
        dir_okay=False,
        help="Also draw the result: .svg or .png by suffix.",
    ),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model profile name, e.g. deepseek-v3.")]
DeploymentOpt = Annotated[
    str | None,
    typer.Option(
        "--deployment", help="Deployment profile, e.g. deepseek-v3-decode: gives nodes, GPUs and slots."
    ),
]


def integer_in(low: int, high: int | Callable[[], int]) -> Callable[[str], int]:
    """A parser for a whole number in ``low..high``; ``high`` may be a function, asked when parsing (the
    cores this process may run on), so a count handed to the core or torch is in range before any work."""

    def parse(text: str) -> int:
        v = integer(text)
        top = high() if callable(high) else high
        if not low <= v <= top:
            raise typer.BadParameter(f"must be {low}..{top}, got {text}")
        return v

    return parse


INT32_MAX = 2**31 - 1
"""The largest count the core holds in 32 bits (slots, groups, nodes, GPUs): ``integer_in(1, INT32_MAX)``."""


GpusOpt = Annotated[
    int | None,
    typer.Option(
        "--gpus",
        parser=integer_in(1, INT32_MAX),
        metavar="N",
        help="GPUs in all (EP size), a multiple of --nodes. Default: what the plan file or the deployment "
        "says (SGLang and TensorRT-LLM plans do not), else 8.",
    ),
]
NodesOpt = Annotated[
    int | None,
    typer.Option(
        "--nodes",
        parser=integer_in(1, INT32_MAX),
        metavar="N",
        help="Nodes. Default: what the plan file or the deployment says, else 1.",
    ),
]
ToleranceOpt = Annotated[
    float,
    typer.Option(
        "--tolerance",
        parser=number(low=0, high=1, high_open=True),
        metavar="FRACTION",
        help="Planning from a plan in place: allowed max/mean above the best, as a fraction.",
    ),
]


# ---- fs3: SSH to a cluster's hosts, chain tables ----------------------------------------------------------
KnownHostsOpt = Annotated[
    str,
    typer.Option(
        "--known-hosts", metavar="FILE", help="SSH known_hosts file that host keys are checked against."
    ),
]
AcceptNewHostKeysOpt = Annotated[
    bool,
    typer.Option(
        "--accept-new-host-keys", help="Trust and record host keys not yet known (never a changed one)."
    ),
]
SshTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        parser=number(low=0, low_open=True),
        metavar="SECONDS",
        help="SSH connect timeout per host.",
    ),
]
SshParallelOpt = Annotated[
    int,
    typer.Option(
        "--parallel",
        parser=integer_in(1, 1024),  # NOTE: fs3.ssh.MAX_PARALLEL, here without importing the library
        metavar="N",
        help="Hosts worked on at once (connecting, and in each step).",
    ),
]
OutDirOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", metavar="DIR", help="Directory to write the files into.", file_okay=False),
]
PlacementSeedOpt = Annotated[
    int, typer.Option("--seed", parser=integer, metavar="N", help="Seed of the placement search.")
]
MinTargetsPerDiskOpt = Annotated[
    int,
    typer.Option("--min-targets-per-disk", parser=integer, metavar="R", help="Least targets on each disk."),
]


# ---- kernels, pipeline: where torch runs ------------------------------------------------------------------
DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device", "-d", metavar="DEVICE", help="auto (CUDA if present, else CPU), cpu, cuda or cuda:N."
    ),
]


# ---- gates: the report CI systems show --------------------------------------------------------------------
JunitOpt = Annotated[
    Path | None,
    typer.Option(
        "--junit",
        metavar="FILE",
        dir_okay=False,
        help="Also write the checks as JUnit XML (one testcase each, atomically), for CI test reports.",
    ),
]


# ---- fs3 bench: on every client node of a Ray cluster ------------------------------------------------------
ClientsRayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="Run on every client node of this Ray cluster at once (HOST:PORT or ray://HOST:PORT); every "
        "node must see PATH and have fireflyer installed. Default: this host only, without Ray.",
    ),
]
ClientsOpt = Annotated[
    str | None,
    typer.Option(
        "--clients",
        metavar="all|N|HOSTS",
        help="With --ray-address: all live nodes with CPUs (default), the first N (by hostname), or "
        "HOST,HOST,... (hostnames or IPs).",
    ),
]
StorageNodesOpt = Annotated[
    int | None,
    typer.Option(
        "--storage-nodes",
        parser=integer_in(1, 100_000),
        metavar="N",
        help="Storage nodes of the 3FS cluster: the published aggregate read is scaled to them.",
    ),
]
