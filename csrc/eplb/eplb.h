// EPLB solvers shared between rebalance.cpp (fresh plans) and migrate.cpp (plans from a previous one).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

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

// Runs fn(i) for i in [0, n) on a few threads; each i must be independent.
void parallel_for(int n, const std::function<void(int)>& fn);

}  // namespace ff::eplb
