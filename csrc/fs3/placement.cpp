// 3FS chain placement: which storage nodes hold the k replicas of each chain, so that every pair of nodes
// shares as nearly the same number of chains as possible (a balanced incomplete block design where one
// exists).
//
// v nodes, b = v*r/k chains (blocks) of k distinct nodes, every node in exactly r chains. lambda(x, y) is
// the number of chains holding both x and y; their mean is r(k-1)/(v-1), so the best possible is every
// lambda in {lo, hi} = {floor, ceil} of it. Three searches, after a construction:
//   k = 2: the chains are the edges of lo*K_v + H for a d-regular graph H (exact by construction).
//   lo = 0, hi = 1 (a packing; 200 nodes and more at 99 targets per disk): a cyclic difference packing
//          completed by a local search (packing.cpp); the searches below where neither succeeds.
//   k = 3: Stinson's hill-climbing for triple systems, generalised to the multigraph lo*K_v + H: it grows a
//          partial decomposition into triangles, each step adding one and removing at most one.
//   else (and when the hill-climb stalls): a swap search: exchange node a of chain B with node c of chain C
//          (this keeps every node in r chains), moves chosen to repair a pair outside [lo, hi].
// `extend` plans new nodes into an existing placement with the swap search, counting moved memberships.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fs3/placement.h"

#include "common/arrays.h"
#include "common/common.h"
#include "common/memory.h"
#include "fs3/packing.h"

namespace ff::fs3 {
namespace {

constexpr int kMaxNodes = 4000;
constexpr int64_t kMaxChains = 99999;  // 3FS chain ids hold the chain number in 5 decimal digits
constexpr int64_t kAutoSteps = 5'000'000;  // the swap search's automatic budget: a few seconds

// A random d-regular simple graph on v nodes (v*d even): a circulant, then degree-preserving edge swaps.
// Dense graphs are made as the complement of a sparse one, where swaps mix well.
std::vector<uint8_t> regular_graph(int v, int d, Rng& rng) {
  std::vector<uint8_t> adj(static_cast<size_t>(v) * v, 0);
  const bool complement = d > (v - 1) / 2;
  const int e = complement ? v - 1 - d : d;
  std::vector<std::array<int, 2>> edges;
  auto add = [&](int x, int y) {
    adj[x * v + y] = adj[y * v + x] = 1;
    edges.push_back({x, y});
  };
  for (int x = 0; x < v; ++x)
    for (int s = 1; s <= e / 2; ++s)
      if (x < (x + s) % v || s * 2 != v) add(x, (x + s) % v);
  if (e % 2 == 1)
    for (int x = 0; x < v / 2; ++x) add(x, x + v / 2);
  // NOTE: the circulant above may double an edge when 2s == v; rebuild the list from the matrix.
  edges.clear();
  for (int x = 0; x < v; ++x)
    for (int y = x + 1; y < v; ++y)
      if (adj[x * v + y]) edges.push_back({x, y});
  const int64_t swaps = 10 * static_cast<int64_t>(edges.size());
  for (int64_t s = 0; s < swaps && edges.size() >= 2; ++s) {
    const int i = uniform(rng, static_cast<int>(edges.size())), j = uniform(rng, static_cast<int>(edges.size()));
    auto [a, b] = edges[i];
    auto [c, dd] = edges[j];
    if (rng() & 1) std::swap(c, dd);
    if (a == c || a == dd || b == c || b == dd || adj[a * v + dd] || adj[c * v + b]) continue;
    adj[a * v + b] = adj[b * v + a] = adj[c * v + dd] = adj[dd * v + c] = 0;
    adj[a * v + dd] = adj[dd * v + a] = adj[c * v + b] = adj[b * v + c] = 1;
    edges[i] = {a, dd};
    edges[j] = {c, b};
  }
  if (complement)
    for (int x = 0; x < v; ++x)
      for (int y = 0; y < v; ++y)
        if (x != y) adj[x * v + y] ^= 1;
  return adj;
}

struct Found {
  std::vector<int32_t> blocks;  // b*k
  int64_t excess = 0;           // pair-count units outside [lo, hi]
  int64_t moved = 0;            // extend: memberships of existing chains that changed
  int64_t steps = 0;
  int restarts = 0;
  std::string method;
};

// ---- k = 2 ----------------------------------------------------------------------------------------------

Found pairs_design(int v, int r, Rng& rng) {
  const Targets t = targets_of(v, 2, r);
  auto h = regular_graph(v, t.d, rng);
  Found f;
  f.method = "construction";
  for (int x = 0; x < v; ++x)
    for (int y = x + 1; y < v; ++y)
      for (int m = 0; m < t.lo + h[x * v + y]; ++m) {
        f.blocks.push_back(x);
        f.blocks.push_back(y);
      }
  return f;
}

// ---- k = 3: hill-climbing ------------------------------------------------------------------------------

// Returns false when it stalls (no new best count of triangles for `patience` steps) or runs out of steps.
bool hill_climb(int v, int r, Rng& rng, int64_t max_steps, Found& f) {
  const Targets t = targets_of(v, 3, r);
  const int64_t want = static_cast<int64_t>(v) * r / 3;
  auto h = regular_graph(v, t.d, rng);
  const size_t vv = static_cast<size_t>(v) * v;
  std::vector<int32_t> res(vv);  // chains still wanted on each pair
  std::vector<int32_t> resdeg(v, 0);
  for (int x = 0; x < v; ++x)
    for (int y = 0; y < v; ++y)
      if (x != y) {
        res[x * v + y] = t.lo + h[x * v + y];
        resdeg[x] += res[x * v + y];
      }
  std::vector<std::array<int, 3>> tri;
  tri.reserve(want);
  std::vector<std::vector<int32_t>> on_pair(vv);  // triangles through each pair (x < y)
  std::vector<int> live, live_pos(v, -1);
  auto set_live = [&](int x) {
    const bool want_live = resdeg[x] > 0;
    if (want_live && live_pos[x] < 0) {
      live_pos[x] = static_cast<int>(live.size());
      live.push_back(x);
    } else if (!want_live && live_pos[x] >= 0) {
      const int last = live.back();
      live[live_pos[x]] = last;
      live_pos[last] = live_pos[x];
      live.pop_back();
      live_pos[x] = -1;
    }
  };
  for (int x = 0; x < v; ++x) set_live(x);
  auto key = [&](int x, int y) { return x < y ? static_cast<size_t>(x) * v + y : static_cast<size_t>(y) * v + x; };
  auto cover = [&](int x, int y, int delta) {
    res[x * v + y] -= delta;
    res[y * v + x] -= delta;
    resdeg[x] -= delta;
    resdeg[y] -= delta;
  };
  auto add = [&](int x, int y, int z) {
    const int id = static_cast<int>(tri.size());
    tri.push_back({x, y, z});
    for (auto [p, q] : {std::array<int, 2>{x, y}, {x, z}, {y, z}}) {
      cover(p, q, 1);
      on_pair[key(p, q)].push_back(id);
    }
    set_live(x), set_live(y), set_live(z);
  };
  auto remove = [&](int id) {
    auto drop = [&](int p, int q, int which) {
      auto& list = on_pair[key(p, q)];
      list.erase(std::find(list.begin(), list.end(), which));
    };
    const auto [x, y, z] = tri[id];
    for (auto [p, q] : {std::array<int, 2>{x, y}, {x, z}, {y, z}}) {
      cover(p, q, -1);
      drop(p, q, id);
    }
    const int last = static_cast<int>(tri.size()) - 1;
    if (id != last) {
      const auto [a, b, c] = tri[last];
      for (auto [p, q] : {std::array<int, 2>{a, b}, {a, c}, {b, c}}) {
        auto& list = on_pair[key(p, q)];
        *std::find(list.begin(), list.end(), last) = id;
      }
      tri[id] = tri[last];
    }
    tri.pop_back();
    set_live(x), set_live(y), set_live(z);
  };

  const int64_t patience = std::max<int64_t>(20000, 40LL * v * v);
  int64_t best = 0, since_best = 0;
  std::vector<int> nb;
  while (static_cast<int64_t>(tri.size()) < want) {
    if (++f.steps > max_steps || ++since_best > patience) return false;
    const int x = live[uniform(rng, static_cast<int>(live.size()))];
    nb.clear();
    for (int y = 0; y < v; ++y)
      if (y != x && res[x * v + y] > 0) nb.push_back(y);
    const int y = nb[uniform(rng, static_cast<int>(nb.size()))];
    if (nb.size() == 1) {  // x's wanted chains all pair it with y: free x from some other triangle
      int w;
      do w = uniform(rng, v);
      while (w == x || w == y || on_pair[key(x, w)].empty());
      const auto& list = on_pair[key(x, w)];
      remove(list[uniform(rng, static_cast<int>(list.size()))]);
      continue;
    }
    int z;
    do z = nb[uniform(rng, static_cast<int>(nb.size()))];
    while (z == y);
    if (res[y * v + z] <= 0) {
      const auto& list = on_pair[key(y, z)];
      if (list.empty()) continue;  // y and z may share no chain at all (lo = 0): try again
      remove(list[uniform(rng, static_cast<int>(list.size()))]);
    }
    add(x, y, z);
    if (static_cast<int64_t>(tri.size()) > best) best = static_cast<int64_t>(tri.size()), since_best = 0;
  }
  f.blocks.clear();
  for (const auto& tr : tri) f.blocks.insert(f.blocks.end(), tr.begin(), tr.end());
  f.method = "hill-climb";
  return true;
}

// ---- any k: the swap search ----------------------------------------------------------------------------

class SwapSearch {
 public:
  // blocks: b*k; origin: for extend, the original members of the first `old_b` chains (else empty).
  SwapSearch(int v, int k, int r, std::vector<int32_t> blocks, std::vector<int32_t> origin, int old_b)
      : v_(v), k_(k), b_(static_cast<int>(blocks.size()) / k), t_(targets_of(v, k, r)), blk_(std::move(blocks)),
        origin_(std::move(origin)), old_b_(old_b), lam_(static_cast<size_t>(v) * v, 0), bad_pos_(lam_.size(), -1),
        memb_(v) {
    for (int j = 0; j < b_; ++j)
      for (int i = 0; i < k_; ++i) {
        memb_[at(j, i)].push_back(j);
        for (int i2 = i + 1; i2 < k_; ++i2) ++lam_[key(at(j, i), at(j, i2))];
      }
    for (int x = 0; x < v_; ++x)
      for (int y = x + 1; y < v_; ++y) bump(x, y, 0);  // counts the excess and lists the pairs outside
    for (int j = 0; j < old_b_; ++j)
      for (int i = 0; i < k_; ++i) moved_ += !in_origin(j, at(j, i));
  }

  // Runs until balanced with no better moved count in reach, or max_steps; keeps the best state seen.
  void run(Rng& rng, int64_t max_steps, Found& f) {
    best_blk_ = blk_;
    best_cost_ = cost();
    const int samples = 12;
    std::vector<Move> cands;
    int64_t step = 0;
    int64_t since_best = 0;
    const int64_t patience = std::max<int64_t>(200000, 200LL * b_ * k_);
    while (step < max_steps) {
      if (excess_ == 0 && (old_b_ == 0 || since_best > patience)) break;
      ++step, ++since_best;
      cands.clear();
      if (!bad_.empty()) {
        const int64_t p = bad_[uniform(rng, static_cast<int>(bad_.size()))];
        const int x = static_cast<int>(p / v_), y = static_cast<int>(p % v_);
        for (int s = 0; s < samples; ++s) propose_for_pair(x, y, rng, cands);
      } else {  // balanced: look for moves that restore original members (extend only)
        for (int s = 0; s < samples; ++s) propose_random(rng, cands);
      }
      if (cands.empty()) continue;
      // the best candidate (ties at random); a worse one is taken with the annealing probability
      const Move* m = &cands[0];
      int seen = 0;
      for (const auto& c : cands)
        if (c.delta < m->delta) m = &c, seen = 1;
        else if (c.delta == m->delta && uniform(rng, ++seen) == 0) m = &c;
      if (m->delta > 0) {
        if (old_b_ > 0 && bad_.empty()) continue;  // balanced: only moves that keep it so
        const double temp = kTemp0 * (1.0 - static_cast<double>(since_best % kCycle) / kCycle) + 1e-3;
        if (std::uniform_real_distribution<double>(0, 1)(rng) >= std::exp(-(m->delta / kWeight) / temp)) continue;
      }
      apply(*m);
      const int64_t c = cost();
      if (c < best_cost_) best_cost_ = c, best_blk_ = blk_, since_best = 0;
    }
    f.steps += step;
    f.blocks = best_blk_;
    recount(f);
  }

 private:
  struct Move {
    int a, B, c, C;
    int64_t delta;
  };
  static constexpr int64_t kWeight = 1 << 20;  // balance first, then moved memberships
  static constexpr double kTemp0 = 1.5;         // annealing: temperature at the start of each cycle
  static constexpr int64_t kCycle = 200000;     // steps without a new best before the temperature rises again

  int v_, k_, b_;
  Targets t_;
  std::vector<int32_t> blk_, origin_;
  int old_b_;
  std::vector<int32_t> lam_;
  std::vector<int64_t> bad_;
  std::vector<int64_t> bad_pos_;
  std::vector<std::vector<int32_t>> memb_;
  int64_t excess_ = 0, moved_ = 0;
  std::vector<int32_t> best_blk_;
  int64_t best_cost_ = 0;

  int32_t& at(int j, int i) { return blk_[static_cast<size_t>(j) * k_ + i]; }
  bool in_block(int j, int x) const {
    const int32_t* p = &blk_[static_cast<size_t>(j) * k_];
    return std::find(p, p + k_, x) != p + k_;
  }
  bool in_origin(int j, int x) const {
    if (j >= old_b_) return false;
    const int32_t* p = &origin_[static_cast<size_t>(j) * k_];
    return std::find(p, p + k_, x) != p + k_;
  }
  // search cost of a pair count: the square of its distance from [lo, hi] (big misses weigh more)
  int64_t f(int l) const {
    const int64_t d = std::max(0, l - t_.hi) + std::max(0, t_.lo - l);
    return d * d;
  }
  int64_t cost() const { return excess_ * kWeight + moved_; }

  int64_t key(int x, int y) const {
    return x < y ? static_cast<int64_t>(x) * v_ + y : static_cast<int64_t>(y) * v_ + x;
  }
  void bump(int x, int y, int delta) {
    const int64_t p = key(x, y);
    const int before = lam_[p];
    excess_ += delta == 0 ? f(before) : f(before + delta) - f(before);
    lam_[p] = before + delta;
    const bool bad = f(lam_[p]) > 0;
    if (bad && bad_pos_[p] < 0) {
      bad_pos_[p] = static_cast<int64_t>(bad_.size());
      bad_.push_back(p);
    } else if (!bad && bad_pos_[p] >= 0) {
      const int64_t last = bad_.back();
      bad_[bad_pos_[p]] = last;
      bad_pos_[last] = bad_pos_[p];
      bad_.pop_back();
      bad_pos_[p] = -1;
    }
  }
  int lam(int x, int y) const { return lam_[key(x, y)]; }

  // Change in cost when a (in chain B) and c (in chain C) trade places; a not in C, c not in B.
  int64_t delta(int a, int B, int c, int C) const {
    int64_t d = 0;
    const int32_t* pb = &blk_[static_cast<size_t>(B) * k_];
    const int32_t* pc = &blk_[static_cast<size_t>(C) * k_];
    for (int i = 0; i < k_; ++i) {
      const int x = pb[i];
      if (x == a || in_block(C, x)) continue;
      d += f(lam(a, x) - 1) - f(lam(a, x)) + f(lam(c, x) + 1) - f(lam(c, x));
    }
    for (int i = 0; i < k_; ++i) {
      const int y = pc[i];
      if (y == c || in_block(B, y)) continue;
      d += f(lam(c, y) - 1) - f(lam(c, y)) + f(lam(a, y) + 1) - f(lam(a, y));
    }
    int64_t dm = 0;
    dm += in_origin(B, a) - in_origin(B, c) + in_origin(C, c) - in_origin(C, a);
    return d * kWeight + dm;
  }

  void apply(const Move& m) {
    for (int i = 0; i < k_; ++i) {
      const int x = at(m.B, i);
      if (x != m.a) bump(m.a, x, -1), bump(m.c, x, 1);
    }
    for (int i = 0; i < k_; ++i) {
      const int y = at(m.C, i);
      if (y != m.c) bump(m.c, y, -1), bump(m.a, y, 1);
    }
    moved_ += in_origin(m.B, m.a) - in_origin(m.B, m.c) + in_origin(m.C, m.c) - in_origin(m.C, m.a);
    for (int i = 0; i < k_; ++i) {
      if (at(m.B, i) == m.a) at(m.B, i) = m.c;
      if (at(m.C, i) == m.c) at(m.C, i) = m.a;
    }
    *std::find(memb_[m.a].begin(), memb_[m.a].end(), m.B) = m.C;
    *std::find(memb_[m.c].begin(), memb_[m.c].end(), m.C) = m.B;
  }

  void consider(int a, int B, int c, int C, std::vector<Move>& out) const {
    if (B == C || a == c || in_block(C, a) || in_block(B, c)) return;
    out.push_back({a, B, c, C, delta(a, B, c, C)});
  }

  void propose_for_pair(int x, int y, Rng& rng, std::vector<Move>& out) const {
    if (lam(x, y) > t_.hi) {  // move x or y out of a chain they share
      const int a = (rng() & 1) ? x : y, other = a == x ? y : x;
      const auto& mine = memb_[a];
      int B = mine[uniform(rng, static_cast<int>(mine.size()))];
      for (int tries = 0; tries < 4 && !in_block(B, other); ++tries) B = mine[uniform(rng, static_cast<int>(mine.size()))];
      if (!in_block(B, other)) return;
      const int C = uniform(rng, b_);
      const int c = blk_[static_cast<size_t>(C) * k_ + uniform(rng, k_)];
      consider(a, B, c, C, out);
    } else {  // bring y into a chain of x, in exchange for one of that chain's other members
      const int B = memb_[x][uniform(rng, static_cast<int>(memb_[x].size()))];
      const int C = memb_[y][uniform(rng, static_cast<int>(memb_[y].size()))];
      const int z = blk_[static_cast<size_t>(B) * k_ + uniform(rng, k_)];
      if (z == x) return;
      consider(z, B, y, C, out);
    }
  }

  void propose_random(Rng& rng, std::vector<Move>& out) const {
    const int B = uniform(rng, old_b_ > 0 ? old_b_ : b_), C = uniform(rng, b_);
    const int a = blk_[static_cast<size_t>(B) * k_ + uniform(rng, k_)];
    int c = blk_[static_cast<size_t>(C) * k_ + uniform(rng, k_)];
    if (B < old_b_) {  // prefer bringing back one of B's original members
      const int o = origin_[static_cast<size_t>(B) * k_ + uniform(rng, k_)];
      if (!in_block(B, o)) {
        const auto& ms = memb_[o];
        const int C2 = ms[uniform(rng, static_cast<int>(ms.size()))];
        consider(a, B, o, C2, out);
        return;
      }
    }
    consider(a, B, c, C, out);
  }

  void recount(Found& f) {
    std::vector<int32_t> lam(static_cast<size_t>(v_) * v_, 0);
    f.excess = 0;
    f.moved = 0;
    for (int j = 0; j < b_; ++j) {
      const int32_t* p = &f.blocks[static_cast<size_t>(j) * k_];
      for (int i = 0; i < k_; ++i) {
        if (j < old_b_) {
          const int32_t* o = &origin_[static_cast<size_t>(j) * k_];
          f.moved += std::find(o, o + k_, p[i]) == o + k_;
        }
        for (int i2 = i + 1; i2 < k_; ++i2) ++lam[std::min(p[i], p[i2]) * v_ + std::max(p[i], p[i2])];
      }
    }
    for (int x = 0; x < v_; ++x)
      for (int y = x + 1; y < v_; ++y) f.excess += f_(lam[x * v_ + y]);
  }
  int64_t f_(int l) const { return std::max(0, l - t_.hi) + std::max(0, t_.lo - l); }
};

// Every node i listed r times, in order, dealt into b chains column by column: distinct nodes per chain.
std::vector<int32_t> dealt(int v, int k, int r) {
  const int b = v * r / k;
  std::vector<int32_t> seq;
  for (int i = 0; i < v; ++i) seq.insert(seq.end(), r, i);
  std::vector<int32_t> blocks(static_cast<size_t>(b) * k);
  for (int j = 0; j < b; ++j)
    for (int t = 0; t < k; ++t) blocks[static_cast<size_t>(j) * k + t] = seq[j + static_cast<size_t>(t) * b];
  return blocks;
}

void check_shape(int v, int k, int r) {
  FF_CHECK_FIELD(k >= 2, "replication", "replication must be at least 2, got " << k);
  FF_CHECK_FIELD(v >= k, "nodes", "need at least as many storage nodes as replicas (" << k << "), got " << v);
  FF_CHECK_FIELD(v <= kMaxNodes, "nodes", "at most " << kMaxNodes << " storage nodes, got " << v);
  FF_CHECK_FIELD(r >= 1, "targets_per_disk", "targets per disk must be at least 1, got " << r);
  FF_CHECK_FIELD(static_cast<int64_t>(v) * r % k == 0, "targets_per_disk",
                 "nodes x targets per disk (" << v << " x " << r << ") must be a multiple of the replication "
                                              << k);
  FF_CHECK_FIELD(static_cast<int64_t>(v) * r / k <= kMaxChains, "targets_per_disk",
                 "that makes " << static_cast<int64_t>(v) * r / k << " chains per disk; 3FS chain ids hold at most "
                               << kMaxChains);
  check_fits(static_cast<double>(v) * v * 40, "the pair-count tables of the placement search", "nodes");
}

// Nodes sorted within each chain, chains sorted: one canonical form for the same design.
void canonical(Found& f, int k, int keep_first) {
  const int b = static_cast<int>(f.blocks.size()) / k;
  std::vector<std::vector<int32_t>> rows(b);
  for (int j = 0; j < b; ++j) {
    rows[j].assign(f.blocks.begin() + static_cast<size_t>(j) * k, f.blocks.begin() + static_cast<size_t>(j + 1) * k);
    std::sort(rows[j].begin(), rows[j].end());
  }
  std::sort(rows.begin() + keep_first, rows.end());
  for (int j = 0; j < b; ++j) std::copy(rows[j].begin(), rows[j].end(), f.blocks.begin() + static_cast<size_t>(j) * k);
}

Placement to_result(Found&& f, int v, int k, int r) {
  const Targets t = targets_of(v, k, r);
  Placement p;
  const size_t b = f.blocks.size() / k;
  p.blocks = to_numpy(std::move(f.blocks), {b, static_cast<size_t>(k)});
  p.lo = t.lo, p.hi = t.hi;
  p.excess = f.excess, p.moved = f.moved, p.steps = f.steps, p.restarts = f.restarts;
  p.method = f.method;
  return p;
}

}  // namespace

Placement place(int v, int k, int r, uint64_t seed, int64_t max_steps, bool construct) {
  check_shape(v, k, r);
  FF_CHECK_FIELD(max_steps >= 0, "max_steps", "max_steps must be >= 0 (0: automatic), got " << max_steps);
  if (max_steps == 0) max_steps = kAutoSteps + (k == 3 ? std::max<int64_t>(kAutoSteps, 100LL * v * v) : 0);
  Rng rng(seed);
  Found f;
  nb::gil_scoped_release unlocked;
  if (k == 2) {
    f = pairs_design(v, r, rng);
  } else {
    const Targets t = targets_of(v, k, r);
    bool done = construct && t.lo == 0 && t.hi == 1 && packing(v, k, r, seed, max_steps, f.blocks, f.steps, f.method);
    if (k == 3) {
      const int64_t budget = max_steps - std::min(max_steps / 2, kAutoSteps);
      while (!done && f.steps < budget) {
        done = hill_climb(v, r, rng, budget, f);
        if (!done) ++f.restarts;
      }
    }
    if (!done) {
      SwapSearch s(v, k, r, dealt(v, k, r), {}, 0);
      s.run(rng, max_steps - f.steps, f);
      f.method = k == 3 ? "swap-search (hill-climb stalled)" : "swap-search";
    }
  }
  canonical(f, k, 0);
  return to_result(std::move(f), v, k, r);
}

Placement extend(In2<int32_t> existing, int v, int r, uint64_t seed, int64_t max_steps) {
  const int old_b = static_cast<int>(existing.shape(0)), k = static_cast<int>(existing.shape(1));
  check_shape(v, k, r);
  FF_CHECK_FIELD(old_b >= 1, "existing", "the existing placement has no chains");
  const int64_t b = static_cast<int64_t>(v) * r / k;
  FF_CHECK_FIELD(b >= old_b, "targets_per_disk",
                 "the new layout has fewer chains (" << b << ") than the existing one (" << old_b << ")");
  std::vector<int32_t> origin(existing.data(), existing.data() + static_cast<size_t>(old_b) * k);
  std::vector<int> count(v, 0);
  for (int j = 0; j < old_b; ++j)
    for (int i = 0; i < k; ++i) {
      const int x = origin[static_cast<size_t>(j) * k + i];
      FF_CHECK_FIELD(x >= 0 && x < v, "existing", "chain " << j << " names node " << x << ", outside 0.." << v - 1);
      for (int i2 = 0; i2 < i; ++i2)
        FF_CHECK_FIELD(origin[static_cast<size_t>(j) * k + i2] != x, "existing",
                       "chain " << j << " holds node " << x << " twice");
      ++count[x];
    }
  for (int x = 0; x < v; ++x)
    FF_CHECK_FIELD(count[x] <= r, "targets_per_disk",
                   "node " << x << " is in " << count[x] << " existing chains, more than " << r << " targets per disk");
  if (max_steps == 0) max_steps = kAutoSteps;
  Rng rng(seed);
  // Start: existing chains as they are, new chains dealt the memberships still needed; where a node needs
  // more than the new chains can hold, it takes the place of an existing member, who moves to a new chain.
  std::vector<int32_t> blocks = origin;
  const int new_b = static_cast<int>(b) - old_b;
  std::vector<std::vector<int32_t>> fresh(new_b);
  std::vector<int> need(v);
  for (int x = 0; x < v; ++x) need[x] = r - count[x];
  std::vector<int> order(v);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return need[a] > need[c]; });
  auto room = [&](int x) {
    for (int j = 0; j < new_b; ++j)
      if (static_cast<int>(fresh[j].size()) < k && std::find(fresh[j].begin(), fresh[j].end(), x) == fresh[j].end())
        return j;
    return -1;
  };
  for (int x : order)
    for (; need[x] > 0; --need[x]) {
      int j = room(x);
      if (j >= 0) {
        fresh[j].push_back(x);
        continue;
      }
      // x takes an existing member's place; that member goes to a new chain with room for it
      bool placed = false;
      for (int c = 0; c < old_b && !placed; ++c) {
        int32_t* p = &blocks[static_cast<size_t>(c) * k];
        if (std::find(p, p + k, x) != p + k) continue;
        for (int i = 0; i < k && !placed; ++i) {
          const int y = p[i];
          const int jy = room(y);
          if (jy < 0) continue;
          p[i] = x;
          fresh[jy].push_back(y);
          placed = true;
        }
      }
      FF_CHECK(placed, "cannot fit node " << x << " into the extended layout: use more targets per disk");
    }
  for (const auto& row : fresh) {
    FF_CHECK(static_cast<int>(row.size()) == k, "internal: a new chain was left short");
    blocks.insert(blocks.end(), row.begin(), row.end());
  }
  Found f;
  {
    nb::gil_scoped_release unlocked;
    SwapSearch s(v, k, r, std::move(blocks), origin, old_b);
    s.run(rng, max_steps, f);
  }
  f.method = "swap-search";
  canonical(f, k, old_b);
  return to_result(std::move(f), v, k, r);
}

}  // namespace ff::fs3
