// Schedule generators: 1F1B, interleaved 1F1B, ZB1P (zero-bubble H1), ZB-V, DualPipe, DualPipeV.
#include "pipeline/schedules.h"

#include <algorithm>
#include <deque>

#include "common.h"

namespace ff::pipeline {
namespace {

Op mk(int8_t k, int s, int m) { return Op{k, s, m, -1, -1}; }

Schedule gen_1f1b(int P, int N) {
  Schedule s{P, P, N, std::vector<std::vector<Op>>(P)};
  for (int r = 0; r < P; ++r) {
    auto& ops = s.ops[r];
    int warm = std::min(P - 1 - r, N);
    for (int m = 0; m < warm; ++m) ops.push_back(mk(kF, r, m));
    for (int i = 0; i < N - warm; ++i) {
      ops.push_back(mk(kF, r, warm + i));
      ops.push_back(mk(kB, r, i));
    }
    for (int i = N - warm; i < N; ++i) ops.push_back(mk(kB, r, i));
  }
  return s;
}

// Megatron's interleaved order: groups of P micro-batches cycle through the v chunks.
Schedule gen_interleaved(int P, int N, int v) {
  Schedule s{P, P * v, N, std::vector<std::vector<Op>>(P)};
  const int total = N * v;
  for (int r = 0; r < P; ++r) {
    auto& ops = s.ops[r];
    auto fwd = [&](int k) {
      int chunk = (k % (P * v)) / P, m = (k / (P * v)) * P + k % P;
      ops.push_back(mk(kF, chunk * P + r, m));
    };
    auto bwd = [&](int k) {
      int chunk = v - 1 - (k % (P * v)) / P, m = (k / (P * v)) * P + k % P;
      ops.push_back(mk(kB, chunk * P + r, m));
    };
    int warm = std::min((P - r - 1) * 2 + (v - 1) * P, total);
    for (int k = 0; k < warm; ++k) fwd(k);
    for (int i = 0; i < total - warm; ++i) {
      fwd(warm + i);
      bwd(i);
    }
    for (int i = total - warm; i < total; ++i) bwd(i);
  }
  return s;
}

// ZB-H1: 1F1B with split backwards; rank r keeps its r newest W chunks deferred to fill the tail.
Schedule gen_zb1p(int P, int N) {
  Schedule s{P, P, N, std::vector<std::vector<Op>>(P)};
  for (int r = 0; r < P; ++r) {
    auto& ops = s.ops[r];
    std::deque<int> pending;
    auto backward = [&](int m) {
      ops.push_back(mk(kBInput, r, m));
      pending.push_back(m);
      while (static_cast<int>(pending.size()) > r) {
        ops.push_back(mk(kW, r, pending.front()));
        pending.pop_front();
      }
    };
    int warm = std::min(P - 1 - r, N);
    for (int m = 0; m < warm; ++m) ops.push_back(mk(kF, r, m));
    for (int i = 0; i < N - warm; ++i) {
      ops.push_back(mk(kF, r, warm + i));
      backward(i);
    }
    for (int i = N - warm; i < N; ++i) backward(i);
    for (int m : pending) ops.push_back(mk(kW, r, m));
  }
  return s;
}

// One rank of DualPipe or DualPipeV, built from the eight phases of DeepSeek's reference schedule.
// Phase p (0 or 1) names one of the rank's two chunks; `stage_of`/`mb_of` map (chunk, k-th) to global ids.
struct PhaseBuilder {
  std::vector<Op>& ops;
  int stage[2];
  int mb_base[2];
  int nf[2] = {0, 0}, nb[2] = {0, 0};
  std::deque<Op> wq;

  void f(int p) { ops.push_back(mk(kF, stage[p], mb_base[p] + nf[p]++)); }
  void b(int p, bool split) {
    Op o = mk(split ? kBInput : kB, stage[p], mb_base[p] + nb[p]++);
    ops.push_back(o);
    if (split) wq.push_back(mk(kW, o.stage, o.mb));
  }
  void w() {
    ops.push_back(wq.front());
    wq.pop_front();
  }
  void fb(int p0, int p1) {
    Op o{kFB, stage[p0], mb_base[p0] + nf[p0]++, stage[p1], mb_base[p1] + nb[p1]++};
    ops.push_back(o);
  }

  // h: position from the pipeline's end (DualPipe: half rank; DualPipeV: rank), H: ranks per half,
  // n: micro-batches per chunk, middle: the rank whose first main-phase pair runs un-overlapped.
  void run(int h, int H, int n, bool middle) {
    for (int i = 0; i < (H - h - 1) * 2; ++i) f(0);                     // 1: F0
    for (int i = 0; i < h + 1; ++i) f(0), f(1);                         // 2: F0 F1
    for (int i = 0; i < H - h - 1; ++i) b(1, true), w(), f(1);          // 3: B1 W1 F1 (split)
    for (int i = 0; i < n - 2 * H + h + 1; ++i) {                       // 4: main, F&B pairs
      if (i == 0 && middle) f(0), b(1, false);
      else fb(0, 1);
      fb(1, 0);
    }
    for (int i = 0; i < H - h - 1; ++i) b(1, false), fb(1, 0);          // 5: B1 F&B
    bool split = false;                                                 // 6: B1 B0, split half way
    for (int i = 0; i < h + 1; ++i) {
      if (i == (h + 1) / 2 && h % 2 == 1) split = true;
      b(1, split);
      if (i == (h + 1) / 2 && h % 2 == 0) split = true;
      b(0, split);
    }
    for (int i = 0; i < H - h - 1; ++i) w(), b(0, true);                // 7: W B0 (split)
    for (int i = 0; i < h + 1; ++i) w();                                // 8: W
  }
};

Schedule gen_dualpipe(int P, int N) {
  Schedule s{P, P, N, std::vector<std::vector<Op>>(P)};
  const int H = P / 2, half = N / 2;
  for (int r = 0; r < P; ++r) {
    const int h = std::min(r, P - 1 - r);
    const bool second = r >= H;
    // Direction 0 (micro-batches [0, N/2)) enters at rank 0; direction 1 ([N/2, N)) at rank P-1.
    // A rank's phase 0 is the direction it feeds first: its own half's.
    int d0 = second ? 1 : 0, d1 = 1 - d0;
    auto stage_of = [&](int d) { return d == 0 ? r : P - 1 - r; };
    PhaseBuilder pb{s.ops[r], {stage_of(d0), stage_of(d1)}, {d0 * half, d1 * half}};
    pb.run(h, H, half, h == H - 1);
  }
  return s;
}

Schedule gen_dualpipev(int P, int N, bool overlap) {
  Schedule s{P, 2 * P, N, std::vector<std::vector<Op>>(P)};
  for (int r = 0; r < P; ++r) {
    PhaseBuilder pb{s.ops[r], {r, 2 * P - 1 - r}, {0, 0}};
    pb.run(r, P, N, r == P - 1);
    if (!overlap) {  // ZB-V: the same V-shaped order with each F&B pair run as F then B
      std::vector<Op> split;
      for (const Op& o : s.ops[r]) {
        if (o.kind == kFB) {
          split.push_back(mk(kF, o.stage, o.mb));
          split.push_back(mk(kB, o.stage2, o.mb2));
        } else {
          split.push_back(o);
        }
      }
      s.ops[r] = std::move(split);
    }
  }
  return s;
}

}  // namespace

Schedule generate(const std::string& name, int P, int N, int chunks) {
  FF_CHECK(P >= 1, "ranks must be at least 1, got " << P);
  FF_CHECK(N >= 1, "microbatches must be at least 1, got " << N);
  if (name == "1f1b") return gen_1f1b(P, N);
  if (name == "zb1p") return gen_zb1p(P, N);
  if (name == "interleaved-1f1b") {
    FF_CHECK(chunks >= 1, "chunks must be at least 1, got " << chunks);
    FF_CHECK(N % P == 0, "interleaved-1f1b needs microbatches divisible by ranks, got N=" << N << ", PP=" << P);
    return gen_interleaved(P, N, chunks);
  }
  if (name == "dualpipe") {
    FF_CHECK(P % 2 == 0, "dualpipe needs an even number of ranks, got " << P);
    FF_CHECK(N % 2 == 0, "dualpipe needs an even number of microbatches, got " << N);
    FF_CHECK(N >= 2 * P, "dualpipe needs microbatches >= 2 * ranks, got N=" << N << ", PP=" << P);
    return gen_dualpipe(P, N);
  }
  if (name == "dualpipev" || name == "zbv") {
    FF_CHECK(N >= 2 * P, name << " needs microbatches >= 2 * ranks, got N=" << N << ", ranks=" << P);
    return gen_dualpipev(P, N, name == "dualpipev");
  }
  FF_CHECK(false, "unknown schedule '" << name << "'");
  return {};
}

void check_coverage(const Schedule& s) {
  const int64_t S = s.stages, N = s.microbatches;
  thread_local std::vector<int32_t> f_rank, b_rank;  // NOTE: reused scratch, as in the simulator
  thread_local std::vector<int8_t> w_state;           // 1: split backward seen, 2: its W seen
  f_rank.assign(S * N, -1);
  b_rank.assign(S * N, -1);
  w_state.assign(S * N, 0);
  auto idx = [&](int st, int m) {
    FF_CHECK(st >= 0 && st < S && m >= 0 && m < N, "op out of range: stage " << st << ", micro-batch " << m);
    return static_cast<int64_t>(st) * N + m;
  };
  for (int r = 0; r < s.ranks; ++r) {
    for (const Op& o : s.ops[r]) {
      if (o.kind == kF || o.kind == kFB) {
        auto i = idx(o.stage, o.mb);
        FF_CHECK(f_rank[i] == -1, "forward of stage " << o.stage << " micro-batch " << o.mb << " appears twice");
        f_rank[i] = r;
      }
      if (o.kind == kB || o.kind == kBInput || o.kind == kFB) {
        int st = o.kind == kFB ? o.stage2 : o.stage, m = o.kind == kFB ? o.mb2 : o.mb;
        auto i = idx(st, m);
        FF_CHECK(b_rank[i] == -1, "backward of stage " << st << " micro-batch " << m << " appears twice");
        b_rank[i] = r;
        if (o.kind == kBInput) w_state[i] = 1;
      }
      if (o.kind == kW) {
        auto i = idx(o.stage, o.mb);
        FF_CHECK(w_state[i] == 1 && b_rank[i] == r,
                 "W of stage " << o.stage << " micro-batch " << o.mb << " without an earlier split backward on rank " << r);
        w_state[i] = 2;
      }
    }
  }
  for (int64_t i = 0; i < S * N; ++i) {
    FF_CHECK(f_rank[i] != -1, "forward of stage " << i / N << " micro-batch " << i % N << " is missing");
    FF_CHECK(b_rank[i] != -1, "backward of stage " << i / N << " micro-batch " << i % N << " is missing");
    FF_CHECK(f_rank[i] == b_rank[i], "stage " << i / N << " micro-batch " << i % N << " runs forward and backward on different ranks");
    FF_CHECK(w_state[i] != 1, "W of stage " << i / N << " micro-batch " << i % N << " is missing");
  }
}

}  // namespace ff::pipeline
