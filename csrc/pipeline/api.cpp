// Python bindings of the pipeline domain (fireflyer._core.pipeline): schedules and the simulator, their inputs checked.
#include "pipeline/api.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cmath>

#include "common/arrays.h"
#include "pipeline/schedules.h"
#include "pipeline/simulator.h"

namespace ff::pipeline {
namespace {

using I8 = In1<int8_t>;
using I32 = In1<int32_t>;
using I64 = In1<int64_t>;
using F64 = In1<double>;

// Checks chunk times: each value finite, positive and at most 1e200 (so makespans stay finite), W <= B per
// stage (a single value applies to every stage), latency zero or positive. The one check of chunk times.
void check_times(F64 f, F64 b, F64 w, F64 fb, double latency) {
  auto each = [](F64 a, const char* name) {
    FF_CHECK_FIELD(a.shape(0) >= 1, name, "needs at least one value");
    for (size_t i = 0; i < a.shape(0); ++i)
      FF_CHECK_FIELD(std::isfinite(a(i)) && a(i) > 0 && a(i) <= 1e200, name,
                     "must be positive (and at most 1e200), got " << a(i));
  };
  each(f, "f-time");
  each(b, "b-time");
  each(w, "w-time");
  each(fb, "fb-time");
  const size_t n = std::max(w.shape(0), b.shape(0));
  if (w.shape(0) == b.shape(0) || w.shape(0) == 1 || b.shape(0) == 1)
    for (size_t i = 0; i < n; ++i) {
      double wi = w(w.shape(0) == 1 ? 0 : i), bi = b(b.shape(0) == 1 ? 0 : i);
      FF_CHECK_FIELD(wi <= bi, "w-time", "W time must not exceed B time (W is part of B), got W=" << wi << ", B=" << bi);
    }
  FF_CHECK_FIELD(std::isfinite(latency) && latency >= 0 && latency <= 1e200, "p2p-latency",
                 "must be zero or positive (and at most 1e200), got " << latency);
}

Times make_times(const Schedule& s, F64 f, F64 b, F64 w, F64 fb, double latency) {
  check_times(f, b, w, fb, latency);
  Times t;
  auto take = [&](F64 a, const char* name, std::vector<double>& out) {
    FF_CHECK_FIELD(a.shape(0) == 1 || static_cast<int64_t>(a.shape(0)) == s.stages, name,
                   "needs 1 or " << s.stages << " per-stage values, got " << a.shape(0));
    out.resize(s.stages);
    for (int i = 0; i < s.stages; ++i) out[i] = a(a.shape(0) == 1 ? 0 : i);
  };
  take(f, "f-time", t.f);
  take(b, "b-time", t.b);
  take(w, "w-time", t.w);
  take(fb, "fb-time", t.fb);
  t.latency = latency;
  return t;
}

Schedule from_arrays(int64_t ranks, int64_t stages, int64_t microbatches, I64 rank_ptr, I8 kind, I32 stage, I32 mb,
                     I32 stage2, I32 mb2) {
  FF_CHECK(ranks >= 1 && ranks <= kMaxRanks && stages >= 1 && stages <= kMaxRanks && microbatches >= 1 &&
               microbatches <= kMaxMicrobatches,
           "ranks, stages and microbatches must be positive and within the simulator's limits");
  FF_CHECK(static_cast<int64_t>(rank_ptr.shape(0)) == ranks + 1, "rank_ptr needs ranks + 1 entries");
  const size_t n = kind.shape(0);
  FF_CHECK(stage.shape(0) == n && mb.shape(0) == n && stage2.shape(0) == n && mb2.shape(0) == n,
           "op arrays must have equal length");
  FF_CHECK(rank_ptr(0) == 0 && rank_ptr(ranks) == static_cast<int64_t>(n), "rank_ptr must span the op arrays");
  Schedule s{static_cast<int32_t>(ranks), static_cast<int32_t>(stages), static_cast<int32_t>(microbatches),
             std::vector<std::vector<Op>>(ranks)};
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

// What generate returns: per-rank op lists as flat arrays (ops of rank r are rank_ptr[r]:rank_ptr[r+1]).
struct ScheduleArrays {
  int32_t ranks, stages, microbatches;
  nb::object rank_ptr, kind, stage, mb, stage2, mb2;  // numpy arrays: int64, int8, then int32
};

// What simulate returns.
struct Simulation {
  double makespan;
  nb::object start, end, busy;                          // numpy float64 arrays
  nb::object peak_activations, stuck_rank, stuck_op;    // numpy int32 arrays
};

// What summarize returns: the scalars of a simulation, without per-op arrays.
struct Summary {
  double makespan, bubble;
  int32_t peak_activations;
  bool deadlocked;
};

ScheduleArrays flatten(Schedule&& s) {
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
  auto np = [](auto&& v) { return nb::cast(to_numpy(std::move(v))); };
  return ScheduleArrays{s.ranks, s.stages, s.microbatches, np(ptr), np(kind), np(stage), np(mb), np(stage2), np(mb2)};
}

Simulation to_simulation(Result&& r) {
  auto np = [](auto&& v) { return nb::cast(to_numpy(std::move(v))); };
  return Simulation{r.makespan, np(r.start), np(r.end), np(r.busy), np(r.peak), np(r.stuck_rank), np(r.stuck_op)};
}

}  // namespace

void register_api(nb::module_ m) {
  nb::enum_<Kind>(m, "OpKind", nb::is_arithmetic(), "Op kinds; KIND_NAMES gives their display names.")
      .value("F", kF, "forward of one chunk")
      .value("B", kB, "full backward (input and weight gradients)")
      .value("B_INPUT", kBInput, "split backward, input gradients (B - W)")
      .value("W", kW, "split backward, weight gradients")
      .value("F_AND_B", kFB, "a forward and a backward of two micro-batches, overlapped");
  m.attr("KIND_NAMES") = nb::make_tuple(kKindNames[0], kKindNames[1], kKindNames[2], kKindNames[3], kKindNames[4]);
  m.attr("SCHEDULES") = nb::tuple(nb::cast(names()));
  nb::class_<ScheduleArrays>(m, "ScheduleArrays", "Per-rank op lists as flat arrays.")
      .def_ro("ranks", &ScheduleArrays::ranks)
      .def_ro("stages", &ScheduleArrays::stages)
      .def_ro("microbatches", &ScheduleArrays::microbatches)
      .def_ro("rank_ptr", &ScheduleArrays::rank_ptr, "ops of rank r are rank_ptr[r]:rank_ptr[r+1]")
      .def_ro("kind", &ScheduleArrays::kind, "OpKind of each op")
      .def_ro("stage", &ScheduleArrays::stage, "stage of the op (the forward half of an F&B)")
      .def_ro("mb", &ScheduleArrays::mb, "micro-batch of the op (the forward half of an F&B)")
      .def_ro("stage2", &ScheduleArrays::stage2, "stage of the backward half of an F&B, else -1")
      .def_ro("mb2", &ScheduleArrays::mb2, "micro-batch of the backward half of an F&B, else -1");
  nb::class_<Simulation>(m, "Simulation", "An event simulation: per-op times, per-rank busy time and peaks.")
      .def_ro("makespan", &Simulation::makespan)
      .def_ro("start", &Simulation::start)
      .def_ro("end", &Simulation::end)
      .def_ro("busy", &Simulation::busy)
      .def_ro("peak_activations", &Simulation::peak_activations, "per rank, in micro-batch chunks")
      .def_ro("stuck_rank", &Simulation::stuck_rank, "deadlock: each rank that could not finish")
      .def_ro("stuck_op", &Simulation::stuck_op, "deadlock: the index, within its rank, of its next op");
  nb::class_<Summary>(m, "Summary", "The scalars of a simulation.")
      .def_ro("makespan", &Summary::makespan)
      .def_ro("bubble", &Summary::bubble, "the largest per-rank idle time")
      .def_ro("peak_activations", &Summary::peak_activations, "the largest over ranks")
      .def_ro("deadlocked", &Summary::deadlocked, "true when some rank could not finish");
  m.def("check_times", &check_times, nb::arg("f_time"), nb::arg("b_time"), nb::arg("w_time"), nb::arg("fb_time"),
        nb::arg("p2p_latency") = 0.0, "Raise InputError naming the option when chunk times are not usable.");
  m.def("check_config", &check_config, nb::arg("name"), nb::arg("ranks"), nb::arg("microbatches"),
        nb::arg("chunks") = 2, "Raise InputError naming the argument when a schedule cannot run this configuration.");
  m.def(
      "generate",
      [](const std::string& name, int64_t ranks, int64_t microbatches, int64_t chunks) {
        Schedule s;
        {
          nb::gil_scoped_release nogil;
          s = generate(name, ranks, microbatches, chunks);
          check_coverage(s);
        }
        return flatten(std::move(s));
      },
      nb::arg("name"), nb::arg("ranks"), nb::arg("microbatches"), nb::arg("chunks") = 2,
      "Per-rank op lists of a named schedule.");
  m.def(
      "simulate",
      [](int64_t ranks, int64_t stages, int64_t microbatches, I64 rank_ptr, I8 kind, I32 stage, I32 mb, I32 stage2,
         I32 mb2, F64 f, F64 b, F64 w, F64 fb, double latency) {
        Schedule s = from_arrays(ranks, stages, microbatches, rank_ptr, kind, stage, mb, stage2, mb2);
        Times t = make_times(s, f, b, w, fb, latency);
        Result r;
        {
          nb::gil_scoped_release nogil;
          r = simulate(s, t);
        }
        return to_simulation(std::move(r));
      },
      nb::arg("ranks"), nb::arg("stages"), nb::arg("microbatches"), nb::arg("rank_ptr"), nb::arg("kind"),
      nb::arg("stage"), nb::arg("mb"), nb::arg("stage2"), nb::arg("mb2"), nb::arg("f_time"), nb::arg("b_time"),
      nb::arg("w_time"), nb::arg("fb_time"), nb::arg("p2p_latency") = 0.0,
      "Event-simulate a schedule: per-op start/end, per-rank busy time and peak activations, deadlocked ranks.");
  m.def(
      "summarize",
      [](const std::string& name, int64_t ranks, int64_t microbatches, int64_t chunks, F64 f, F64 b, F64 w, F64 fb,
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
        double min_busy = std::numeric_limits<double>::infinity();
        int32_t peak = 0;
        for (int i = 0; i < s.ranks; ++i) {
          min_busy = std::min(min_busy, r.busy[i]);
          peak = std::max(peak, r.peak[i]);
        }
        return Summary{r.makespan, r.makespan - min_busy, peak, !r.stuck_rank.empty()};
      },
      nb::arg("name"), nb::arg("ranks"), nb::arg("microbatches"), nb::arg("chunks"), nb::arg("f_time"),
      nb::arg("b_time"), nb::arg("w_time"), nb::arg("fb_time"), nb::arg("p2p_latency") = 0.0,
      "Generate and simulate in one call, keeping only the scalars.");
}

}  // namespace ff::pipeline
