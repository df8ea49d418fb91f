"""Start-up: the import time of `fireflyer.cli` against Typer's in the same interpreter, and the wall time of
`flyer --help` and `flyer GROUP --help`, each in fresh interpreters (medians); which heavy modules they load.

Target (issue 9): `import fireflyer.cli` within 3x the time of importing Typer itself.

    python benchmarks/startup.py [--repeat 15] [--json]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _util import report

PROBE = (
    "import time, sys; t = time.perf_counter(); import typer; a = time.perf_counter() - t; "
    "t = time.perf_counter(); import fireflyer.cli; b = time.perf_counter() - t; "
    "print(a, a + b, 'numpy' in sys.modules, 'torch' in sys.modules)"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    typer_s, cli_s, heavy = [], [], set()
    for _ in range(a.repeat):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
        t, c, np_, torch_ = out.split()
        typer_s.append(float(t))
        cli_s.append(float(c))
        heavy |= {m for m, v in (("numpy", np_), ("torch", torch_)) if v == "True"}
    exe = (
        str(Path(sys.executable).parent / "flyer")
        if (Path(sys.executable).parent / "flyer").exists()
        else shutil.which("flyer")
    )
    rows = [
        ["import typer", statistics.median(typer_s) * 1e3, None],
        [
            "import fireflyer.cli",
            statistics.median(cli_s) * 1e3,
            statistics.median(cli_s) / statistics.median(typer_s),
        ],
    ]
    base = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - t0)
    rows.append(["python -c pass (wall)", statistics.median(base) * 1e3, None])
    for args in (["--help"], ["pipeline", "--help"], ["eplb", "--help"], ["profiles", "--help"]):
        walls = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            subprocess.run([exe, *args], capture_output=True, check=True)
            walls.append(time.perf_counter() - t0)
        rows.append([f"flyer {' '.join(args)} (wall)", statistics.median(walls) * 1e3, None])
    report(
        "start-up, ms (medians of fresh interpreters)",
        ["what", "ms", "x typer"],
        rows,
        a.json,
        {"heavy modules imported by fireflyer.cli": sorted(heavy) or "none"},
    )


if __name__ == "__main__":
    main()
