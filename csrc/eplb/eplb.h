// EPLB solvers shared between rebalance.cpp (fresh plans) and migrate.cpp (plans from a previous one).
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

// DeepSeek's policy for one layer: phy2log[replicas], logcnt[experts]. float32 arithmetic on purpose.
void deepseek_layer(const float* w, const Shape& s, int64_t* phy2log, int64_t* logcnt);

// Our balanced policy for one layer; never worse max/mean than deepseek_layer on the same input.
void balanced_layer(const float* w, const Shape& s, bool hierarchical, int64_t* phy2log, int64_t* logcnt);

// Max GPU load over mean GPU load of one layer's plan (1.0 for an all-zero layer).
double imbalance(const float* w, const int64_t* phy2log, const Shape& s);

// Checks a problem's arguments (naming the one at fault) and returns its shape; weight is [layers, experts].
Shape check_shape(const float* weight, size_t layers, size_t experts, int64_t replicas, int64_t groups,
                  int64_t nodes, int64_t gpus);

// With the hierarchical policy (or groups a multiple of nodes), groups must divide nodes and experts.
void check_hierarchical(const Shape& s, bool hierarchical);

// (phy2log [L, R], log2phy [L, E, K] with slots ascending and -1 padding, logcnt [L, E]) as numpy arrays.
nb::tuple finish_plan(const std::vector<int64_t>& p2l, int L, int E, int R);

}  // namespace ff::eplb
