// Packings: chains of k nodes on v nodes, every node in exactly r of them, no two nodes sharing more than
// one chain (the case lo = 0, hi = 1 of placement.cpp: r(k-1) < v-1, as for 200 or more nodes at 99 targets
// per disk). Used by placement.cpp before its searches; free of nanobind.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ff::fs3 {

using Rng = std::mt19937_64;

inline int uniform(Rng& rng, int n) { return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng)); }

// The pair counts a placement aims at: every pair in lo or hi chains, each node with hi on d of its peers.
struct Targets {
  int lo = 0, hi = 0, d = 0;
};

inline Targets targets_of(int v, int k, int r) {
  const int64_t total = static_cast<int64_t>(r) * (k - 1);
  Targets t;
  t.lo = static_cast<int>(total / (v - 1));
  t.hi = static_cast<int>((total + v - 2) / (v - 1));
  t.d = static_cast<int>(total - static_cast<int64_t>(t.lo) * (v - 1));
  return t;
}

// A cyclic packing on Z_v: floor(r/k) base blocks {0, d1, ..} whose k(k-1) differences are all distinct
// (and never v/2), each developed into v chains (x + B for every x), plus, when r % k != 0 and k divides v,
// the short orbit {x, x + v/k, ..} (v/k chains). Appends the chains (k per chain) to `blocks` and returns
// how many chains each node is in (0 when no difference family was found in a few seeded tries).
int cyclic_packing(int v, int k, int r, Rng& rng, std::vector<int32_t>& blocks);

// Completes `blocks` (a packing in which every node is in the same number of chains, fewer than r; may be
// empty) to a packing with every node in r chains by a randomised local search that only adds and removes
// its own chains: each step adds one chain on a node that needs one, removing the chains it conflicts with
// (a shared pair, or a member that is full). False when `max_steps` pass first; `steps` counts them.
bool complete_packing(int v, int k, int r, std::vector<int32_t>& blocks, Rng& rng, int64_t max_steps,
                      int64_t& steps);

// The cyclic packing, completed by the packing search where it leaves some of r (or finds no family, k > 3), with
// a generator of its own seeded from `seed`; `method` names what made it. False when neither gets every node
// into r chains within max_steps (the automatic budget: 1,000,000 steps and 40 per chain the search adds).
bool packing(int v, int k, int r, uint64_t seed, int64_t max_steps, std::vector<int32_t>& blocks, int64_t& steps,
             std::string& method);

}  // namespace ff::fs3
