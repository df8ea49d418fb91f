"""Schedule generation and simulation speed: the core against a plain-Python event simulator (written
here as the baseline), in one process, on the same DualPipe schedule; then a 1,000-configuration sweep.

Rows: DualPipe PP=64, N=1024 generated and simulated by the core; the same schedule simulated by the
baseline (generation not counted, so the ratio favours the baseline); `fireflyer.pipeline.sweep` over
1,000 configurations. Targets: core <= 50 ms and >= 20x faster than the baseline; sweep <= 2 s.

    python benchmarks/pipeline_sim.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse

from _util import median_seconds, report

from fireflyer import pipeline as pp

F, B, B_INPUT, W, FB = range(5)


def python_simulate(ops: list[list[tuple]], stages: int, f: float, b: float, w: float, fb: float) -> float:
    """Makespan of per-rank op lists [(kind, stage, mb, stage2, mb2)]: each op starts when its rank is free
    and its inputs are done (forward from stage-1, backward from stage+1); ranks retried until none moves."""
    dur = {F: f, B: b, B_INPUT: b - w, W: w, FB: fb}
    f_done: dict[tuple[int, int], float] = {}
    b_done: dict[tuple[int, int], float] = {}
    pos = [0] * len(ops)
    clock = [0.0] * len(ops)

    def ready(kind: int, st: int, m: int, st2: int, m2: int) -> float | None:
        need = []
        if kind in (F, FB):
            need.append(0.0 if st == 0 else f_done.get((st - 1, m)))
        if kind in (B, B_INPUT):
            need.append(f_done.get((st, m)) if st == stages - 1 else b_done.get((st + 1, m)))
        if kind == FB:
            need.append(f_done.get((st2, m2)) if st2 == stages - 1 else b_done.get((st2 + 1, m2)))
        if kind == W:
            need.append(b_done.get((st, m)))
        return None if None in need else max(need)

    pending = set(range(len(ops)))
    while pending:
        progressed = False
        for r in sorted(pending):
            while pos[r] < len(ops[r]):
                kind, st, m, st2, m2 = ops[r][pos[r]]
                t = ready(kind, st, m, st2, m2)
                if t is None:
                    break
                end = max(t, clock[r]) + dur[kind]
                clock[r] = end
                if kind in (F, FB):
                    f_done[(st, m)] = end
                if kind in (B, B_INPUT):
                    b_done[(st, m)] = end
                if kind == FB:
                    b_done[(st2, m2)] = end
                pos[r] += 1
                progressed = True
            if pos[r] == len(ops[r]):
                pending.discard(r)
        if not progressed:
            raise RuntimeError(f"deadlock on ranks {sorted(pending)}")
    return max(clock)


def op_lists(s: pp.Schedule) -> list[list[tuple]]:
    return [
        [
            (int(s.kind[i]), int(s.stage[i]), int(s.mb[i]), int(s.stage2[i]), int(s.mb2[i]))
            for i in range(int(s.rank_ptr[r]), int(s.rank_ptr[r + 1]))
        ]
        for r in range(s.ranks)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    P, N = 64, 1024
    times = pp.ChunkTimes(f=1, b=2, w=1, fb=2.5)

    def core():
        return pp.simulate_schedule(pp.generate("dualpipe", P, N), times)

    ops = op_lists(pp.generate("dualpipe", P, N))
    core_makespan = core().check().makespan
    base_makespan = python_simulate(ops, P, 1.0, 2.0, 1.0, 2.5)
    assert core_makespan == base_makespan, f"baseline makespan {base_makespan} != core {core_makespan}"

    t_core = median_seconds(core, args.repeat)
    t_base = median_seconds(lambda: python_simulate(ops, P, 1.0, 2.0, 1.0, 2.5), max(3, args.repeat // 2))
    axes = dict(
        schedules=["1f1b", "zb1p", "zbv", "dualpipe", "dualpipev"],
        ranks=[2, 4, 8, 16, 32],
        microbatches=[64, 128, 256, 512],
        f=[1.0],
        b=[2.0],
        w=[0.5, 1.0],
        fb=[2.0, 2.5, 3.0, 3.5, 4.0],
    )
    configs = len(pp.sweep(**axes))
    assert configs == 1000
    t_sweep = median_seconds(lambda: pp.sweep(**axes), max(3, args.repeat // 2))
    rows = [
        [f"dualpipe PP={P} N={N} gen+sim", "core", t_core * 1e3, 50.0, t_base / t_core],
        [f"dualpipe PP={P} N={N} sim", "python baseline", t_base * 1e3, None, 1.0],
        [f"sweep {configs} configs", "core", t_sweep * 1e3, 2000.0, None],
    ]
    report(
        "pipeline simulation speed (median ms; speedup = baseline / this)",
        ["case", "impl", "median_ms", "target_ms", "speedup"],
        rows,
        args.json,
        {
            "speedup_target": 20.0,
            "makespan": core_makespan,
            "makespan_matches_baseline": True,
            "ops": sum(len(o) for o in ops),
        },
    )


if __name__ == "__main__":
    main()
