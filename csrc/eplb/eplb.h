// The EPLB solvers: solver.cpp (the balanced policy), deepseek.cpp (DeepSeek's policy), migrate.cpp (plans from
// a previous one); api.cpp checks the problems and registers them.
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

// DeepSeek's policy in steps (deepseek.cpp); DeepseekPlanner (api.cpp) runs them over all layers.
// The effective shape of one plan: the global policy (groups % nodes != 0) is the hierarchical one with one
// group and one node, as in eplb.py.
struct DsShape {
  int E, R, G, N, gpus;
  int gs() const { return E / G; }
  int gpn() const { return G / N; }
  int En() const { return E / N; }
  int Rn() const { return R / N; }
  int gpus_n() const { return gpus / N; }
  int per() const { return R / gpus; }
};

inline DsShape effective(const Shape& s) {
  const bool hier = s.groups % s.nodes == 0;
  return DsShape{s.experts, s.replicas, hier ? s.groups : 1, hier ? s.nodes : 1, s.gpus};
}

// One layer after steps 1-2: experts in node-local order (mlog2log), replicas within each node.
struct LayerReplicas {
  std::vector<int64_t> mlog2log;           // [E]: node-local logical index -> logical expert
  std::vector<int64_t> phy2mlog, rank;     // [N, Rn]
  std::vector<int64_t> cnt;                // [N, En]
  std::vector<float> per_replica;          // [N, Rn]: tokens_per_phy of eplb.py
};

// Steps 1-2 of one layer: groups onto nodes (packing the group loads gsum in the order gorder), then
// replicas within each node.
void replicate_layer(const float* w, const float* gsum, const int64_t* gorder, const DsShape& d, bool f64,
                     LayerReplicas& out);

// Step 3 of one layer: each node's replicas onto its GPUs (packing per_replica in the orders porder [N, Rn]).
// Writes phy2log [R], the replica rank of each slot [R] and logcnt [E].
void place_layer(const LayerReplicas& r, const int64_t* porder, const DsShape& d, bool f64, int64_t* phy2log,
                 int64_t* phyrank, int64_t* logcnt);

// Plans [L, R] from the previous plans pv [L, R] (migrate.cpp): as few new (GPU, expert) copies as bring the
// mean max/mean within tolerance of fresh plans', at most budget copies.
std::vector<int64_t> migrate_plans(const float* w, const int64_t* pv, int L, const Shape& s, bool hierarchical,
                                   double tolerance, long long budget);

// Max GPU load over mean GPU load of one layer's plan (1.0 for an all-zero layer).
double imbalance(const float* w, const int64_t* phy2log, const Shape& s);

// api.cpp: checks a problem's arguments (naming the one at fault) and returns its shape; weight is [layers, experts].
Shape check_shape(const float* weight, size_t layers, size_t experts, int64_t replicas, int64_t groups,
                  int64_t nodes, int64_t gpus);

// With the hierarchical policy (or groups a multiple of nodes), groups must divide nodes and experts.
void check_hierarchical(const Shape& s, bool hierarchical);

// (phy2log [L, R], log2phy [L, E, K] with -1 padding, logcnt [L, E]) as numpy arrays. log2phy lists each
// expert's slots by replica rank where `rank` ([L, R], the replica number of each slot) is given, else ascending.
nb::tuple finish_plan(const std::vector<int64_t>& p2l, int L, int E, int R,
                      const std::vector<int64_t>* rank = nullptr);

}  // namespace ff::eplb
