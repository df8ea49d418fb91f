"""The core's STREAM triad against numpy's `a[:] = b + s * c` on the same arrays, in one process.

Both are timed on the same three float64 arrays (4x the last-level cache or more), counting 24 bytes
per element as STREAM does. numpy runs on one thread, so the core is reported on one thread (the
like-for-like ratio) and on every available core (what `flyer profiles detect` reports).

    python benchmarks/probe_triad.py [--mib 256] [--repeat 15] [--json]
"""

from __future__ import annotations

import argparse

import numpy as np
from _util import median_seconds, report

from fireflyer import _core, host, profiles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--mib", type=float, default=None, help="MiB per array (default: the size flyer profiles detect uses)"
    )
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    threads = host.threads_available()
    mib = args.mib or profiles.triad_array_bytes(threads, quick=False)[0] / 2**20
    n = int(mib * 2**20 / 8)
    a, b, c = np.zeros(n), np.full(n, 1.0), np.full(n, 2.0)
    s = 3.0
    moved = 24.0 * n

    def numpy_triad():
        a[:] = b + s * c

    def core(t):
        return lambda: _core.profiles.triad(a, b, c, s, threads=t, reps=1)

    t_np = median_seconds(numpy_triad, args.repeat)
    t_c1 = median_seconds(core(1), args.repeat)
    t_cn = median_seconds(core(threads), args.repeat)
    rows = [
        ["numpy a[:] = b + s*c", 1, round(moved / t_np / 1e9, 2), 1.0],
        ["core triad", 1, round(moved / t_c1 / 1e9, 2), round(t_np / t_c1, 2)],
        ["core triad", threads, round(moved / t_cn / 1e9, 2), round(t_np / t_cn, 2)],
    ]
    report(
        f"triad, 3 arrays x {mib:.0f} MiB, median of {args.repeat}",
        ["impl", "threads", "GB/s", "x numpy"],
        rows,
        args.json,
    )


if __name__ == "__main__":
    main()
