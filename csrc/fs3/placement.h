// 3FS chain placement: the storage nodes of every chain, pair counts as even as the search finds.
#pragma once

#include <cstdint>
#include <string>

#include "common/arrays.h"

namespace ff::fs3 {

struct Placement {
  Out<int32_t> blocks;
  int lo = 0, hi = 0;
  int64_t excess = 0, moved = 0, steps = 0;
  int restarts = 0;
  std::string method;
};

// Chains of k (replication) nodes on v nodes, each node in r (targets_per_disk) chains; checks its arguments.
// `construct` false: the searches alone, without the packing construction (benchmarks compare the two).
Placement place(int v, int k, int r, uint64_t seed, int64_t max_steps, bool construct = true);
// `existing` (int32 [chains, k]) extended to v nodes: its chains keep their numbers and most of their members.
Placement extend(In2<int32_t> existing, int v, int r, uint64_t seed, int64_t max_steps);

}  // namespace ff::fs3
