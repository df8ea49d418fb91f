// Pipeline schedules as flat per-rank op lists, shared by the generators and the simulator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ff::pipeline {

// Op kinds, the one definition (Python reads them as _core.pipeline.OpKind and KIND_NAMES).
// A split backward runs BInput (B - W) first and its W later; FB is a forward and a backward overlapped.
enum Kind : int8_t { kF = 0, kB = 1, kBInput = 2, kW = 3, kFB = 4 };
inline const char* const kKindNames[] = {"F", "B", "B-input", "W", "F&B"};

constexpr int64_t kMaxRanks = 1 << 16;
constexpr int64_t kMaxMicrobatches = 1 << 24;

struct Op {
  int8_t kind;
  int32_t stage, mb;    // F, B, BInput, W; the forward half of FB
  int32_t stage2, mb2;  // the backward half of FB (full backward), else -1
};

struct Schedule {
  int32_t ranks = 0, stages = 0, microbatches = 0;
  std::vector<std::vector<Op>> ops;  // per rank, in execution order
};

// The schedules by name, in the order the CLI lists them.
const std::vector<std::string>& names();
// Throws InputError naming the argument when a schedule cannot run (ranks, microbatches, size in memory).
void check_config(const std::string& name, int64_t ranks, int64_t microbatches, int64_t chunks);
Schedule generate(const std::string& name, int64_t ranks, int64_t microbatches, int64_t chunks);
// Every F and B of every (stage, micro-batch) exactly once, each stage on one rank, every W after its BInput.
void check_coverage(const Schedule& s);

}  // namespace ff::pipeline
