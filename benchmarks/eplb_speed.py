"""DeepSeek-policy planning speed and parity against DeepSeek's own algorithm, in one process, on the same
loads and the same torch.

References: SGLang's copy of DeepSeek's eplb.py (``sglang.srt.eplb.eplb_algorithms.deepseek``, from the
installed SGLang wheel; it sums pack loads in Python floats) and, with ``--reference path/to/eplb.py``,
DeepSeek's eplb.py itself (github.com/deepseek-ai/EPLB; float32 pack sums, our default). vLLM's port
(``DefaultEplbPolicy``, numpy) is timed and compared where vLLM is installed.

Loads: the shipped sample (whole-token counts of DeepSeek-V3's routing: ties everywhere) and seeded floats.
Layout: DeepSeek-V3 prefill (58 x 256, 288 slots, 8 groups, 4 nodes, 32 GPUs). Targets: V3 plan <= 10 ms;
4096 layers <= 1 s. Every time is the median of the shared timing protocol (torch on 1 thread).

    python benchmarks/eplb_speed.py [--samples 30] [--reference eplb.py] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
import torch
from _util import report, test_module

from fireflyer import eplb
from fireflyer.timing import time_fn

engines = test_module("tests/eplb/engines.py")  # the engines' modules, imported without their servers

V3 = (288, 8, 4, 32)


def load_reference(path: str):
    spec = importlib.util.spec_from_file_location("deepseek_eplb", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return lambda w, *layout: mod.rebalance_experts(torch.from_numpy(w), *layout)


def equal_layers(ref, ours) -> int:
    """Layers where phy2log, log2phy (padded alike) and logcnt all agree."""
    p, l2p, c = (np.asarray(x) for x in ref)
    k = max(l2p.shape[2], ours.log2phy.shape[2])

    def pad(a):
        return np.pad(a, ((0, 0), (0, 0), (0, k - a.shape[2])), constant_values=-1)

    same = (
        (p == ours.phy2log).all(1) & (pad(l2p) == pad(ours.log2phy)).all((1, 2)) & (c == ours.logcnt).all(1)
    )
    return int(same.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument(
        "--reference", help="DeepSeek's eplb.py (github.com/deepseek-ai/EPLB), to time and compare"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    loads = {
        "sample (int)": eplb.sample_load().astype(np.float32),
        "floats": (np.random.default_rng(0).random((58, 256)) * 1000).astype(np.float32),
    }
    w4096 = np.tile(loads["sample (int)"], (71, 1))[:4096]
    refs = {}
    if args.reference:
        refs["DeepSeek eplb.py"] = (load_reference(args.reference), "float32")
    if engines.installed("sglang", engines.SGLANG):
        ds = engines.sglang_deepseek()
        refs["SGLang's copy"] = (
            lambda w, *l: ds.rebalance_experts(torch.from_numpy(w), *l, l[1] % l[2] == 0),
            "float64",
        )
    vllm = None
    if engines.installed("vllm", engines.VLLM):
        vllm = engines.vllm_policy_modules()[1].DefaultEplbPolicy

    def ours(w, sums="float32"):
        return eplb.plan(w, *V3, policy="deepseek", pack_sums=sums)

    rows, parity = [], {}

    def timed(case, impl, fn, samples, target=None, base=None):
        t = time_fn(fn, samples=samples, warmup=1, threads=1)
        ratio = None if base is None else t.median / base.median
        rows.append([case, impl, t.median * 1e3, t.p20 * 1e3, t.p80 * 1e3, target, ratio])
        return t

    few = max(3, args.samples // 10)
    t_core = timed("V3 58x256 deepseek", "fireflyer", lambda: ours(loads["sample (int)"]), args.samples, 10.0)
    rows[-1][-1] = 1.0
    for name, (fn, sums) in refs.items():
        timed("V3 58x256 deepseek", name, lambda fn=fn: fn(loads["sample (int)"], *V3), few, base=t_core)
        for kind, w in loads.items():
            for sums_used in sorted({sums, "float32"}):
                key = f"{name} vs fireflyer (pack_sums {sums_used}), {kind}"
                parity[key] = f"{equal_layers(fn(w, *V3), ours(w, sums_used))}/58 layers equal"
    if vllm is not None:
        sample = torch.from_numpy(loads["sample (int)"])
        timed(
            "V3 58x256 deepseek",
            "vLLM DefaultEplbPolicy",
            lambda: vllm.rebalance_experts(sample, *V3),
            few,
            base=t_core,
        )
        for kind, w in loads.items():
            theirs = vllm.rebalance_experts(torch.from_numpy(w), *V3).numpy()
            same = int((theirs == ours(w).phy2log).all(1).sum())
            parity[f"vLLM DefaultEplbPolicy phy2log vs fireflyer, {kind}"] = f"{same}/58 layers equal"
    timed("4096x256 deepseek", "fireflyer", lambda: eplb.plan(w4096, *V3, policy="deepseek"), few, 1000.0)
    timed("V3 58x256 balanced", "fireflyer", lambda: eplb.plan(loads["sample (int)"], *V3), few)
    report(
        "eplb planning speed (ms; ratio = this / fireflyer's deepseek policy) and parity, same run",
        ["case", "impl", "median_ms", "p20_ms", "p80_ms", "target_ms", "ratio"],
        rows,
        args.json,
        {
            "parity": parity,
            "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        },
    )


if __name__ == "__main__":
    main()
