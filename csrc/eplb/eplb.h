// EPLB solvers shared between solver.cpp (the balanced policy), deepseek.cpp (DeepSeek's policy) and migrate.cpp
// (plans from a previous one).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/common.h"

namespace ff::eplb {

// One layer's problem shape. Slot p sits on GPU p / (replicas / gpus).
struct Shape {
  int experts, replicas, groups, nodes, gpus;
};

// DeepSeek's policy for one layer with equal loads ordered lower index first (the bound the balanced policy
// never exceeds; plans for users come from DeepseekPlanner, which takes torch's orders): phy2log[replicas],
// logcnt[experts]. float32 arithmetic, as eplb.py.
void deepseek_layer(const float* w, const Shape& s, int64_t* phy2log, int64_t* logcnt);

// eplb.py's replicate_experts for one row: slots - n rounds, each giving one more replica to the expert with
// the highest float32 load per replica (the first on ties); rank is each slot's replica number for its expert.
void replicate_row(const float* w, int n, int slots, int64_t* phy2log, int64_t* rank, int64_t* cnt);

// Our balanced policy for one layer; never worse max/mean than deepseek_layer on the same input.
void balanced_layer(const float* w, const Shape& s, bool hierarchical, int64_t* phy2log, int64_t* logcnt);

// Max GPU load over mean GPU load of one layer's plan (1.0 for an all-zero layer).
double imbalance(const float* w, const int64_t* phy2log, const Shape& s);

// Checks a problem's arguments (naming the one at fault) and returns its shape; weight is [layers, experts].
Shape check_shape(const float* weight, size_t layers, size_t experts, int64_t replicas, int64_t groups,
                  int64_t nodes, int64_t gpus);

// With the hierarchical policy (or groups a multiple of nodes), groups must divide nodes and experts.
void check_hierarchical(const Shape& s, bool hierarchical);

// (phy2log [L, R], log2phy [L, E, K] with -1 padding, logcnt [L, E]) as numpy arrays. log2phy lists each
// expert's slots by replica rank where `rank` ([L, R], the replica number of each slot) is given, else ascending.
nb::tuple finish_plan(const std::vector<int64_t>& p2l, int L, int E, int R,
                      const std::vector<int64_t>* rank = nullptr);

}  // namespace ff::eplb
