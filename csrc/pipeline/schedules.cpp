// Schedule generators: 1F1B, interleaved 1F1B, ZB1P (zero-bubble H1), ZB-V, DualPipe, DualPipeV.
#include "pipeline/schedules.h"

#include <algorithm>
#include <deque>

#include "common/common.h"
#include "common/memory.h"

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

Schedule gen_dualpipev(int P, int N) {
  Schedule s{P, 2 * P, N, std::vector<std::vector<Op>>(P)};
  for (int r = 0; r < P; ++r) {
    PhaseBuilder pb{s.ops[r], {r, 2 * P - 1 - r}, {0, 0}};
    pb.run(r, P, N, r == P - 1);
  }
  return s;
}

// ZB-V of the zero-bubble paper (Qi et al., 2024, section 6), in the order torch.distributed.pipelining's
// ScheduleZBVZeroBubble gives each rank: warm-up forwards, then F / B-input / W triples on both chunks, then
// the cool-down. Fewer than 2P-1 micro-batches run the 2P-1 order with the missing micro-batches left out.
Schedule gen_zbv(int P, int N) {
  Schedule s{P, 2 * P, N, std::vector<std::vector<Op>>(P)};
  const int n = std::max(2 * P - 1, N);
  for (int r = 0; r < P; ++r) {
    auto& ops = s.ops[r];
    const int c0 = r, c1 = 2 * P - 1 - r;
    int f0 = 0, f1 = 0, b0 = 0, b1 = 0;
    auto add = [&](int8_t k, int st, int m) {
      if (m < N) ops.push_back(mk(k, st, m));
    };
    for (int i = 0; i < 2 * (P - r) - 1; ++i) add(kF, c0, f0++);
    for (int i = 0; i < r; ++i) add(kF, c1, f1++), add(kF, c0, f0++);
    for (int i = 0; i < P - r; ++i) add(kF, c1, f1), add(kBInput, c1, b1), add(kW, c1, b1), ++f1, ++b1;
    while (f1 < f0 || f0 < n) {
      if (f0 < n) add(kF, c0, f0++);
      add(kBInput, c0, b0), add(kW, c0, b0), ++b0;
      add(kF, c1, f1), add(kBInput, c1, b1), add(kW, c1, b1), ++f1, ++b1;
    }
    int w0 = b0, w1 = b1;
    for (int i = 0; i < r; ++i) add(kBInput, c0, b0++), add(kBInput, c1, b1++);
    for (int i = 0; i < P - r; ++i) add(kBInput, c0, b0++), add(kW, c0, w0++);
    while (w1 < b1) add(kW, c1, w1++);
    while (w0 < b0) add(kW, c0, w0++);
  }
  return s;
}

}  // namespace

const std::vector<std::string>& names() {
  static const std::vector<std::string> v = {"1f1b", "interleaved-1f1b", "zb1p", "zbv", "dualpipe", "dualpipev"};
  return v;
}

void check_config(const std::string& name, int64_t P, int64_t N, int64_t chunks) {
  bool known = false;
  for (const auto& n : names()) known |= n == name;
  FF_CHECK_FIELD(known, "schedule", "unknown schedule '" << name << "'; choose one of 1f1b, interleaved-1f1b, zb1p, "
                                                             "zbv, dualpipe, dualpipev");
  FF_CHECK_FIELD(P >= 1 && P <= kMaxRanks, "ranks", "must be at least 1 (and at most " << kMaxRanks << "), got " << P);
  FF_CHECK_FIELD(N >= 1 && N <= kMaxMicrobatches, "microbatches",
                 "must be at least 1 (and at most " << kMaxMicrobatches << "), got " << N);
  int64_t stages = P;
  if (name == "interleaved-1f1b") {
    FF_CHECK_FIELD(chunks >= 1 && chunks <= kMaxRanks, "chunks",
                   "must be at least 1 (and at most " << kMaxRanks << "), got " << chunks);
    FF_CHECK_FIELD(N % P == 0, "microbatches",
                   "interleaved-1f1b needs microbatches divisible by ranks, got N=" << N << " with " << P << " ranks");
    stages = P * chunks;
  }
  if (name == "dualpipe") {
    FF_CHECK_FIELD(P % 2 == 0, "ranks",
                   "dualpipe needs an even number of ranks, got " << P << " (use dualpipev for an odd count)");
    FF_CHECK_FIELD(N % 2 == 0, "microbatches", "dualpipe needs an even number of microbatches, got " << N);
  }
  if (name == "dualpipe" || name == "dualpipev")
    FF_CHECK_FIELD(N >= 2 * P, "microbatches",
                   name << " needs microbatches >= 2 * ranks, got N=" << N << " with " << P << " ranks (use at least "
                        << 2 * P << ")");
  if (name == "zbv" || name == "dualpipev") stages = 2 * P;
  FF_CHECK_FIELD(stages <= kMaxRanks, "ranks", name << " with " << P << " ranks has " << stages
                                                    << " stages; at most " << kMaxRanks << " are supported");
  // NOTE: at most three ops (F, B-input, W) per stage and micro-batch; each costs about 96 bytes across the
  // generator, the flat arrays handed to Python and the simulator's per-op and per-key state.
  const double ops = 3.0 * static_cast<double>(stages) * static_cast<double>(N);
  FF_CHECK_FIELD(ops < 2e9, "microbatches",
                 name << " with " << stages << " stages and " << N << " microbatches has about " << ops
                      << " ops, more than the simulator's 32-bit op indices hold");
  check_fits(96.0 * ops, name + " with " + std::to_string(stages) + " stages and " + std::to_string(N) +
                             " microbatches", "microbatches");
}

Schedule generate(const std::string& name, int64_t P, int64_t N, int64_t chunks) {
  check_config(name, P, N, chunks);
  if (name == "1f1b") return gen_1f1b(P, N);
  if (name == "zb1p") return gen_zb1p(P, N);
  if (name == "interleaved-1f1b") return gen_interleaved(P, N, chunks);
  if (name == "dualpipe") return gen_dualpipe(P, N);
  if (name == "dualpipev") return gen_dualpipev(P, N);
  return gen_zbv(P, N);
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
