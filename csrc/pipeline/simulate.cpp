// Pipeline event simulator and the nanobind registration of the pipeline domain.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <nanobind/stl/string.h>

#include "common.h"
#include "pipeline/schedules.h"

namespace ff::pipeline {
namespace {

using I8 = nb::ndarray<const int8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using I32 = nb::ndarray<const int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using I64 = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using F64 = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <typename T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(heap->data(), {heap->size()}, owner);
}

struct Times {
  std::vector<double> f, b, w, fb;
  double latency = 0;
};

struct Result {
  double makespan = 0;
  std::vector<double> start, end;         // per op, ranks concatenated
  std::vector<double> busy;               // per rank
  std::vector<int32_t> peak;              // per rank, in micro-batch chunks
  std::vector<int32_t> stuck_rank, stuck_op;  // deadlock: each unfinished rank and its next op index
};

constexpr double kNotDone = -1.0;

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

Times make_times(const Schedule& s, F64 f, F64 b, F64 w, F64 fb, double latency) {
  Times t;
  auto take = [&](F64 a, const char* name, std::vector<double>& out) {
    FF_CHECK(a.shape(0) == 1 || static_cast<int64_t>(a.shape(0)) == s.stages,
             name << " needs 1 or " << s.stages << " per-stage values, got " << a.shape(0));
    out.resize(s.stages);
    for (int i = 0; i < s.stages; ++i) {
      out[i] = a(a.shape(0) == 1 ? 0 : i);
      FF_CHECK(std::isfinite(out[i]) && out[i] > 0, name << " must be positive, got " << out[i]);
    }
  };
  take(f, "f_time", t.f);
  take(b, "b_time", t.b);
  take(w, "w_time", t.w);
  take(fb, "fb_time", t.fb);
  for (int i = 0; i < s.stages; ++i)
    FF_CHECK(t.w[i] <= t.b[i], "w_time must not exceed b_time (W is part of B), got W=" << t.w[i] << ", B=" << t.b[i]);
  FF_CHECK(std::isfinite(latency) && latency >= 0, "p2p_latency must be zero or positive, got " << latency);
  t.latency = latency;
  return t;
}

Schedule from_arrays(int ranks, int stages, int microbatches, I64 rank_ptr, I8 kind, I32 stage, I32 mb, I32 stage2, I32 mb2) {
  FF_CHECK(ranks >= 1 && stages >= 1 && microbatches >= 1, "ranks, stages and microbatches must be positive");
  FF_CHECK(static_cast<int64_t>(rank_ptr.shape(0)) == ranks + 1, "rank_ptr needs ranks + 1 entries");
  const size_t n = kind.shape(0);
  FF_CHECK(stage.shape(0) == n && mb.shape(0) == n && stage2.shape(0) == n && mb2.shape(0) == n,
           "op arrays must have equal length");
  FF_CHECK(rank_ptr(0) == 0 && rank_ptr(ranks) == static_cast<int64_t>(n), "rank_ptr must span the op arrays");
  Schedule s{ranks, stages, microbatches, std::vector<std::vector<Op>>(ranks)};
  for (int r = 0; r < ranks; ++r) {
    FF_CHECK(rank_ptr(r) <= rank_ptr(r + 1), "rank_ptr must not decrease");
    s.ops[r].reserve(rank_ptr(r + 1) - rank_ptr(r));
    for (int64_t i = rank_ptr(r); i < rank_ptr(r + 1); ++i) {
      FF_CHECK(kind(i) >= kF && kind(i) <= kFB, "op " << i << " has unknown kind " << int(kind(i)));
      s.ops[r].push_back(Op{kind(i), stage(i), mb(i), stage2(i), mb2(i)});
    }
  }
  check_coverage(s);
  return s;
}

nb::dict schedule_dict(Schedule&& s) {
  size_t total = 0;
  for (const auto& ops : s.ops) total += ops.size();
  std::vector<int64_t> ptr(1, 0);
  std::vector<int8_t> kind;
  std::vector<int32_t> stage, mb, stage2, mb2;
  ptr.reserve(s.ops.size() + 1);
  kind.reserve(total);
  for (auto* v : {&stage, &mb, &stage2, &mb2}) v->reserve(total);
  for (const auto& ops : s.ops) {
    for (const Op& o : ops) {
      kind.push_back(o.kind);
      stage.push_back(o.stage);
      mb.push_back(o.mb);
      stage2.push_back(o.stage2);
      mb2.push_back(o.mb2);
    }
    ptr.push_back(static_cast<int64_t>(kind.size()));
  }
  nb::dict d;
  d["ranks"] = s.ranks;
  d["stages"] = s.stages;
  d["microbatches"] = s.microbatches;
  d["rank_ptr"] = to_numpy(std::move(ptr));
  d["kind"] = to_numpy(std::move(kind));
  d["stage"] = to_numpy(std::move(stage));
  d["mb"] = to_numpy(std::move(mb));
  d["stage2"] = to_numpy(std::move(stage2));
  d["mb2"] = to_numpy(std::move(mb2));
  return d;
}

nb::dict result_dict(Result&& r) {
  nb::dict d;
  d["makespan"] = r.makespan;
  d["start"] = to_numpy(std::move(r.start));
  d["end"] = to_numpy(std::move(r.end));
  d["busy"] = to_numpy(std::move(r.busy));
  d["peak_activations"] = to_numpy(std::move(r.peak));
  d["stuck_rank"] = to_numpy(std::move(r.stuck_rank));
  d["stuck_op"] = to_numpy(std::move(r.stuck_op));
  return d;
}

}  // namespace
}  // namespace ff::pipeline

void register_pipeline(nb::module_ m) {
  using namespace ff::pipeline;
  m.def(
      "generate",
      [](const std::string& name, int ranks, int microbatches, int chunks) {
        Schedule s;
        {
          nb::gil_scoped_release nogil;
          s = generate(name, ranks, microbatches, chunks);
          check_coverage(s);
        }
        return schedule_dict(std::move(s));
      },
      nb::arg("name"), nb::arg("ranks"), nb::arg("microbatches"), nb::arg("chunks") = 2,
      "Per-rank op lists of a named schedule as flat arrays (rank_ptr, kind, stage, mb, stage2, mb2).");
  m.def(
      "simulate",
      [](int ranks, int stages, int microbatches, I64 rank_ptr, I8 kind, I32 stage, I32 mb, I32 stage2, I32 mb2,
         F64 f, F64 b, F64 w, F64 fb, double latency) {
        Schedule s = from_arrays(ranks, stages, microbatches, rank_ptr, kind, stage, mb, stage2, mb2);
        Times t = make_times(s, f, b, w, fb, latency);
        Result r;
        {
          nb::gil_scoped_release nogil;
          r = simulate(s, t);
        }
        return result_dict(std::move(r));
      },
      nb::arg("ranks"), nb::arg("stages"), nb::arg("microbatches"), nb::arg("rank_ptr"), nb::arg("kind"),
      nb::arg("stage"), nb::arg("mb"), nb::arg("stage2"), nb::arg("mb2"), nb::arg("f_time"), nb::arg("b_time"),
      nb::arg("w_time"), nb::arg("fb_time"), nb::arg("p2p_latency") = 0.0,
      "Event-simulate a schedule: per-op start/end, per-rank busy time and peak activations, deadlocked ranks.");
  m.def(
      "summarize",
      [](const std::string& name, int ranks, int microbatches, int chunks, F64 f, F64 b, F64 w, F64 fb,
         double latency) {
        Schedule s;
        {
          nb::gil_scoped_release nogil;
          s = generate(name, ranks, microbatches, chunks);
        }
        Times t = make_times(s, f, b, w, fb, latency);
        Result r;
        {
          nb::gil_scoped_release nogil;
          r = simulate(s, t);
        }
        double max_busy = 0, min_busy = std::numeric_limits<double>::infinity();
        int32_t peak = 0;
        for (int i = 0; i < ranks; ++i) {
          max_busy = std::max(max_busy, r.busy[i]);
          min_busy = std::min(min_busy, r.busy[i]);
          peak = std::max(peak, r.peak[i]);
        }
        return nb::make_tuple(r.makespan, r.makespan - min_busy, peak, r.stuck_rank.empty());
      },
      nb::arg("name"), nb::arg("ranks"), nb::arg("microbatches"), nb::arg("chunks"), nb::arg("f_time"),
      nb::arg("b_time"), nb::arg("w_time"), nb::arg("fb_time"), nb::arg("p2p_latency") = 0.0,
      "Generate and simulate in one call: (makespan, bubble, max peak activations, completed).");
}
