// Pipeline event simulator: each rank runs its ops in order, an op starts when its inputs have arrived.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/common.h"
#include "pipeline/simulator.h"

namespace ff::pipeline {
namespace {

constexpr double kNotDone = -1.0;

}  // namespace

Result simulate(const Schedule& s, const Times& t) {
  const int P = s.ranks;
  const int64_t S = s.stages, N = s.microbatches;
  thread_local std::vector<int32_t> f_rank, b_rank;
  f_rank.assign(S * N, -1);
  b_rank.assign(S * N, -1);
  std::vector<int64_t> offset(P + 1, 0);
  for (int r = 0; r < P; ++r) {
    offset[r + 1] = offset[r] + static_cast<int64_t>(s.ops[r].size());
    for (const Op& o : s.ops[r]) {
      if (o.kind == kF || o.kind == kFB) f_rank[o.stage * N + o.mb] = r;
      if (o.kind == kB || o.kind == kBInput) b_rank[o.stage * N + o.mb] = r;
      if (o.kind == kFB) b_rank[o.stage2 * N + o.mb2] = r;
    }
  }
  Result res;
  res.start.assign(offset[P], 0.0);
  res.end.assign(offset[P], 0.0);
  res.busy.assign(P, 0.0);
  res.peak.assign(P, 0);
  // NOTE: per-key scratch reused between calls on a thread: fresh pages for it cost more than the simulation.
  thread_local std::vector<double> f_end, b_end;
  thread_local std::vector<int32_t> head_f, head_b;
  f_end.assign(S * N, kNotDone);
  b_end.assign(S * N, kNotDone);
  // Waiters: each blocked rank waits on one key (F or B of a stage and micro-batch); lists by key.
  head_f.assign(S * N, -1);
  head_b.assign(S * N, -1);
  std::vector<int32_t> next_waiter(P, -1);
  std::vector<int64_t> pos(P, 0);
  std::vector<double> free_at(P, 0.0);
  std::vector<int32_t> ready(P);
  for (int r = 0; r < P; ++r) ready[r] = P - 1 - r;

  // Arrival time at rank r of a dependency, or kNotDone; on a miss, registers r as a waiter.
  auto need_f = [&](int st, int m, int r, double& at) {
    if (st < 0) return true;
    int64_t k = st * N + m;
    if (f_end[k] < 0) {
      next_waiter[r] = head_f[k];
      head_f[k] = r;
      return false;
    }
    at = std::max(at, f_end[k] + (f_rank[k] != r ? t.latency : 0.0));
    return true;
  };
  auto need_b = [&](int st, int m, int r, double& at) {  // gradient from the next stage
    if (st + 1 >= S) return need_f(st, m, r, at);
    int64_t k = (st + 1) * N + m;
    if (b_end[k] < 0) {
      next_waiter[r] = head_b[k];
      head_b[k] = r;
      return false;
    }
    at = std::max(at, b_end[k] + (b_rank[k] != r ? t.latency : 0.0));
    return true;
  };
  auto wake = [&](std::vector<int32_t>& head, int64_t k) {
    for (int32_t w = head[k]; w != -1;) {
      int32_t nx = next_waiter[w];
      ready.push_back(w);
      w = nx;
    }
    head[k] = -1;
  };

  while (!ready.empty()) {
    int r = ready.back();
    ready.pop_back();
    const auto& ops = s.ops[r];
    while (pos[r] < static_cast<int64_t>(ops.size())) {
      const Op& o = ops[pos[r]];
      double at = free_at[r], dur = 0;
      bool ok = true;
      switch (o.kind) {
        case kF: ok = need_f(o.stage - 1, o.mb, r, at); dur = t.f[o.stage]; break;
        case kB: ok = need_b(o.stage, o.mb, r, at); dur = t.b[o.stage]; break;
        case kBInput: ok = need_b(o.stage, o.mb, r, at); dur = t.b[o.stage] - t.w[o.stage]; break;
        case kW: dur = t.w[o.stage]; at = std::max(at, b_end[o.stage * N + o.mb]); break;
        case kFB:
          ok = need_f(o.stage - 1, o.mb, r, at) && need_b(o.stage2, o.mb2, r, at);
          dur = t.fb[o.stage];
          break;
      }
      if (!ok) break;
      const int64_t i = offset[r] + pos[r];
      res.start[i] = at;
      res.end[i] = at + dur;
      free_at[r] = at + dur;
      res.busy[r] += dur;
      if (o.kind == kF || o.kind == kFB) {
        f_end[o.stage * N + o.mb] = at + dur;
        wake(head_f, o.stage * N + o.mb);
      }
      if (o.kind == kB || o.kind == kBInput) {
        b_end[o.stage * N + o.mb] = at + dur;
        wake(head_b, o.stage * N + o.mb);
      }
      if (o.kind == kFB) {
        b_end[o.stage2 * N + o.mb2] = at + dur;
        wake(head_b, o.stage2 * N + o.mb2);
      }
      ++pos[r];
    }
  }
  for (int r = 0; r < P; ++r) {
    res.makespan = std::max(res.makespan, free_at[r]);
    if (pos[r] < static_cast<int64_t>(s.ops[r].size())) {
      res.stuck_rank.push_back(r);
      res.stuck_op.push_back(static_cast<int32_t>(pos[r]));
    }
    // NOTE: activations follow op order: +1 at a forward, -1 when its full backward or its W completes.
    int32_t live = 0, peak = 0;
    for (const Op& o : s.ops[r]) {
      if (o.kind == kF || o.kind == kFB) peak = std::max(peak, ++live);
      if (o.kind == kB || o.kind == kW || o.kind == kFB) --live;
    }
    res.peak[r] = peak;
  }
  return res;
}

}  // namespace ff::pipeline
