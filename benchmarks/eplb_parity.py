"""DeepSeek parity of ``--policy deepseek`` on integer token counts (and floats), over many seeded shapes, on
the same torch: how many cases and layers equal DeepSeek's eplb.py (``--reference path/to/eplb.py``, from
github.com/deepseek-ai/EPLB), SGLang's copy of it and vLLM's port, where installed.

A layer is equal when phy2log, log2phy (replica order) and logcnt all are (vLLM's port returns phy2log only).
Shapes: the DeepSeek-V3 layouts (prefill EP32 on 4 nodes, decode EP144 on 18 nodes, one node) on the
shipped sample and on seeded loads, and random small layouts (hierarchical and global) with counts from
0..5 (ties everywhere), 0..500, and floats.

    python benchmarks/eplb_parity.py [--cases 200] [--reference eplb.py] [--json]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _util import report, test_module
from eplb_speed import equal_layers, load_reference

from fireflyer import eplb

engines = test_module("tests/eplb/engines.py")  # the engines' modules, imported without their servers

V3_LAYOUTS = [(288, 8, 4, 32), (288, 8, 18, 144), (288, 8, 1, 32)]


def cases(n: int, seed: int = 0):
    """(kind, weight, layout) for the V3 sample and ``n`` seeded cases."""
    sample = eplb.sample_load().astype(np.float32)
    for layout in V3_LAYOUTS:
        yield "int", sample, layout
    rng = np.random.default_rng(seed)
    for i in range(n):
        kind = ("int", "int", "float")[i % 3]
        if i % 4 == 0:
            E, layout = 256, V3_LAYOUTS[i % 3]
        else:
            nodes = int(rng.integers(1, 4))
            groups = nodes * int(rng.integers(1, 4)) + (1 if i % 7 == 0 else 0)  # some global
            E = groups * int(rng.integers(1, 5))
            gpus = nodes * int(rng.integers(1, 4))
            R = E + gpus * int(rng.integers(0, 3))
            R += (-R) % gpus
            if (R // nodes) % (gpus // nodes):
                continue
            layout = (R, groups, nodes, gpus)
        top = (5, 500)[i % 2]
        w = rng.integers(0, top + 1, (8, E)) if kind == "int" else rng.random((8, E)) * 1000
        yield kind, w.astype(np.float32), layout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--reference", help="DeepSeek's eplb.py (github.com/deepseek-ai/EPLB)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    refs = {}
    if args.reference:
        refs["DeepSeek eplb.py"] = load_reference(args.reference)
    if engines.installed("sglang", engines.SGLANG):
        ds = engines.sglang_deepseek()
        refs["SGLang's copy"] = lambda w, *lay: ds.rebalance_experts(
            torch.from_numpy(w), *lay, lay[1] % lay[2] == 0
        )
    vllm = (
        engines.vllm_policy_modules()[1].DefaultEplbPolicy
        if engines.installed("vllm", engines.VLLM)
        else None
    )
    tally: dict[
        tuple[str, str, str], list[int]
    ] = {}  # (reference, pack sums, kind) -> [cases, equal, layers, equal]
    for kind, w, layout in cases(args.cases):
        plans = {s: eplb.plan(w, *layout, policy="deepseek", pack_sums=s) for s in ("float32", "float64")}
        for name, fn in refs.items():
            ref = fn(w, *layout)
            for sums, ours in plans.items():
                same = equal_layers(ref, ours)
                t = tally.setdefault((name, sums, kind), [0, 0, 0, 0])
                t[0] += 1
                t[1] += same == w.shape[0]
                t[2] += w.shape[0]
                t[3] += same
        if vllm is not None:
            theirs = vllm.rebalance_experts(torch.from_numpy(w), *layout).numpy()
            same = int((theirs == plans["float32"].phy2log).all(1).sum())
            t = tally.setdefault(("vLLM DefaultEplbPolicy (phy2log)", "float32", kind), [0, 0, 0, 0])
            t[0] += 1
            t[1] += same == w.shape[0]
            t[2] += w.shape[0]
            t[3] += same
    rows = [
        [ref, sums, kind, c, ce, lay, le] for (ref, sums, kind), (c, ce, lay, le) in sorted(tally.items())
    ]
    report(
        "eplb --policy deepseek parity (pack_sums float32: eplb.py's sums; float64: SGLang's copy's)",
        ["reference", "pack_sums", "loads", "cases", "cases_equal", "layers", "layers_equal"],
        rows,
        args.json,
        {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()},
    )


if __name__ == "__main__":
    main()
