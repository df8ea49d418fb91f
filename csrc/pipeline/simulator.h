// The pipeline event simulator: a schedule's op times, per-rank busy time and activation peaks.
#pragma once

#include <cstdint>
#include <vector>

#include "pipeline/schedules.h"

namespace ff::pipeline {

// Chunk times per stage (f, b, w, fb) and the point-to-point latency.
struct Times {
  std::vector<double> f, b, w, fb;
  double latency = 0;
};

struct Result {
  double makespan = 0;
  std::vector<double> start, end;             // per op, ranks concatenated
  std::vector<double> busy;                   // per rank
  std::vector<int32_t> peak;                  // per rank, in micro-batch chunks
  std::vector<int32_t> stuck_rank, stuck_op;  // deadlock: each unfinished rank and its next op index
};

Result simulate(const Schedule& s, const Times& t);

}  // namespace ff::pipeline
