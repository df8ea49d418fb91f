// Pipeline schedules as flat per-rank op lists, shared by the generators and the simulator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ff::pipeline {

// Op kinds. A split backward runs BInput (B - W) first and its W later.
enum Kind : int8_t { kF = 0, kB = 1, kBInput = 2, kW = 3, kFB = 4 };

struct Op {
  int8_t kind;
  int32_t stage, mb;    // F, B, BInput, W; the forward half of FB
  int32_t stage2, mb2;  // the backward half of FB (full backward), else -1
};

struct Schedule {
  int32_t ranks = 0, stages = 0, microbatches = 0;
  std::vector<std::vector<Op>> ops;  // per rank, in execution order
};

Schedule generate(const std::string& name, int ranks, int microbatches, int chunks);
// Every F and B of every (stage, micro-batch) exactly once, each stage on one rank, every W after its BInput.
void check_coverage(const Schedule& s);

}  // namespace ff::pipeline
