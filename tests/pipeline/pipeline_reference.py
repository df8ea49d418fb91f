"""A pure-Python reference of the pipeline event simulator, written independently of the C++ core.

Ops run in per-rank order; an op starts when its rank is free and its inputs have arrived: a forward
after the previous stage's forward (+ latency across ranks), a backward after the next stage's backward
(the last stage: after its own forward), a W after its own split backward, an F&B after both.
"""

from __future__ import annotations

F, B, BI, W, FB = range(5)


def simulate(sched, f, b, w, fb, latency=0.0):
    """-> (start, end, busy per rank, peak activations per rank); raises RuntimeError on deadlock.

    f, b, w, fb: per-stage lists.
    """
    S = sched.stages
    ops = []
    for r in range(sched.ranks):
        for i in range(int(sched.rank_ptr[r]), int(sched.rank_ptr[r + 1])):
            ops.append(
                (
                    r,
                    int(sched.kind[i]),
                    int(sched.stage[i]),
                    int(sched.mb[i]),
                    int(sched.stage2[i]),
                    int(sched.mb2[i]),
                )
            )
    owner_f, owner_b = {}, {}
    for r, k, s, m, s2, m2 in ops:
        if k in (F, FB):
            owner_f[(s, m)] = r
        if k in (B, BI):
            owner_b[(s, m)] = r
        if k == FB:
            owner_b[(s2, m2)] = r
    f_end, b_end = {}, {}
    start, end = [0.0] * len(ops), [0.0] * len(ops)
    ptr = [int(x) for x in sched.rank_ptr]
    pos = ptr[:-1].copy()
    free = [0.0] * sched.ranks
    busy = [0.0] * sched.ranks

    def fwd_in(s, m, r):
        if s == 0:
            return 0.0
        if (s - 1, m) not in f_end:
            return None
        return f_end[(s - 1, m)] + (latency if owner_f[(s - 1, m)] != r else 0.0)

    def bwd_in(s, m, r):
        if s == S - 1:
            return f_end.get((s, m))
        if (s + 1, m) not in b_end:
            return None
        return b_end[(s + 1, m)] + (latency if owner_b[(s + 1, m)] != r else 0.0)

    moved = True
    while moved:
        moved = False
        for r in range(sched.ranks):
            while pos[r] < ptr[r + 1]:
                _, k, s, m, s2, m2 = ops[pos[r]]
                if k == F:
                    deps, dur = [fwd_in(s, m, r)], f[s]
                elif k == B:
                    deps, dur = [bwd_in(s, m, r)], b[s]
                elif k == BI:
                    deps, dur = [bwd_in(s, m, r)], b[s] - w[s]
                elif k == W:
                    deps, dur = [b_end.get((s, m))], w[s]
                else:
                    deps, dur = [fwd_in(s, m, r), bwd_in(s2, m2, r)], fb[s]
                if any(d is None for d in deps):
                    break
                t0 = max([free[r], *deps])
                i = pos[r]
                start[i], end[i] = t0, t0 + dur
                free[r] = t0 + dur
                busy[r] += dur
                if k in (F, FB):
                    f_end[(s, m)] = t0 + dur
                if k in (B, BI):
                    b_end[(s, m)] = t0 + dur
                if k == FB:
                    b_end[(s2, m2)] = t0 + dur
                pos[r] += 1
                moved = True
    stuck = [r for r in range(sched.ranks) if pos[r] < ptr[r + 1]]
    if stuck:
        raise RuntimeError(f"deadlock on ranks {stuck}")
    peak = []
    for r in range(sched.ranks):
        live = top = 0
        for i in range(ptr[r], ptr[r + 1]):
            k = ops[i][1]
            if k in (F, FB):
                live += 1
                top = max(top, live)
            if k in (B, W, FB):
                live -= 1
        peak.append(top)
    return start, end, busy, peak
