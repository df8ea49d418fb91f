// Packings for large layouts (see packing.h): a cyclic construction from a difference family, and a local
// search that completes what the construction leaves. Both keep every pair of nodes in at most one chain by
// construction, so the work is O(chains), not the O(v^2) patience of the hill-climb.
#include "fs3/packing.h"

#include <algorithm>
#include <climits>
#include <numeric>

namespace ff::fs3 {
namespace {

constexpr int kFamilyTries = 32;             // seeded greedy tries for a difference family before giving up
constexpr int64_t kPackingSteps = 1'000'000;  // the packing search's budget, plus 40 steps per chain it adds
// NOTE: a generator apart from place()'s, so that the searches after a failed packing draw as they did before
constexpr uint64_t kPackingSalt = 0x9e3779b97f4a7c15ULL;

// The representative of +-d in Z_v: 1..v/2 (v/2, its own negative, only when v is even).
int rep(int d, int v) {
  d = ((d % v) + v) % v;
  return std::min(d, v - d);
}

// One seeded greedy try: m base blocks, each {0, a, ..} with a the smallest free difference and the other
// members tried in a shuffled order; `used` marks differences (by representative) already taken.
bool try_family(int v, int k, int m, std::vector<uint8_t> used, Rng& rng, std::vector<int32_t>& base) {
  const int half = (v - 1) / 2;  // representatives that are not their own negative
  std::vector<int32_t> order(v - 1);
  std::iota(order.begin(), order.end(), 1);
  std::vector<int> reps;
  base.clear();
  for (int b = 0; b < m; ++b) {
    int a = 1;
    while (a <= half && used[a]) ++a;
    if (a > half) return false;
    used[a] = 1;
    std::vector<int32_t> blk{0, a};
    while (static_cast<int>(blk.size()) < k) {
      std::shuffle(order.begin(), order.end(), rng);
      bool placed = false;
      for (const int c : order) {
        reps.clear();
        bool ok = true;
        for (const int x : blk) {
          const int d = rep(c - x, v);
          if (d == 0 || d > half || used[d] || std::find(reps.begin(), reps.end(), d) != reps.end()) {
            ok = false;
            break;
          }
          reps.push_back(d);
        }
        if (!ok) continue;
        for (const int d : reps) used[d] = 1;
        blk.push_back(c);
        placed = true;
        break;
      }
      if (!placed) return false;
    }
    base.insert(base.end(), blk.begin(), blk.end());
  }
  return true;
}

}  // namespace

int cyclic_packing(int v, int k, int r, Rng& rng, std::vector<int32_t>& blocks) {
  const int m = r / k;
  const bool short_orbit = r % k != 0 && v % k == 0;
  const int half = (v - 1) / 2;
  if (m == 0 && !short_orbit) return 0;
  if (static_cast<int64_t>(m) * k * (k - 1) / 2 > half) return 0;  // not enough differences
  std::vector<uint8_t> used(static_cast<size_t>(half) + 1, 0);
  if (short_orbit)
    for (int j = 1; j < k; ++j) {
      const int d = rep(j * (v / k), v);
      if (d <= half) used[d] = 1;
    }
  std::vector<int32_t> base;
  bool found = m == 0;
  for (int t = 0; t < kFamilyTries && !found; ++t) found = try_family(v, k, m, used, rng, base);
  if (!found) return 0;
  for (int b = 0; b < m; ++b)
    for (int x = 0; x < v; ++x)
      for (int i = 0; i < k; ++i) blocks.push_back((base[static_cast<size_t>(b) * k + i] + x) % v);
  if (short_orbit)
    for (int x = 0; x < v / k; ++x)
      for (int j = 0; j < k; ++j) blocks.push_back(x + j * (v / k));
  return m * k + (short_orbit ? 1 : 0);
}

bool complete_packing(int v, int k, int r, std::vector<int32_t>& blocks, Rng& rng, int64_t max_steps,
                      int64_t& steps) {
  constexpr int32_t kGiven = -2, kFree = -1;
  std::vector<int32_t> owner(static_cast<size_t>(v) * v, kFree);  // pair (x < y): kGiven, kFree or our chain
  auto key = [v](int x, int y) {
    return x < y ? static_cast<size_t>(x) * v + y : static_cast<size_t>(y) * v + x;
  };
  std::vector<int> deg(v, 0);
  const size_t given = blocks.size() / k;
  for (size_t j = 0; j < given; ++j) {
    const int32_t* p = &blocks[j * k];
    for (int i = 0; i < k; ++i) {
      ++deg[p[i]];
      for (int i2 = i + 1; i2 < k; ++i2) owner[key(p[i], p[i2])] = kGiven;
    }
  }
  std::vector<int32_t> mine;                   // our chains, k nodes each
  std::vector<std::vector<int32_t>> memb(v);  // our chains on each node
  std::vector<int> live, live_pos(v, -1);      // nodes in fewer than r chains
  auto set_live = [&](int x) {
    if (deg[x] < r && live_pos[x] < 0) {
      live_pos[x] = static_cast<int>(live.size());
      live.push_back(x);
    } else if (deg[x] >= r && live_pos[x] >= 0) {
      live_pos[live.back()] = live_pos[x];
      live[live_pos[x]] = live.back();
      live.pop_back();
      live_pos[x] = -1;
    }
  };
  for (int x = 0; x < v; ++x) set_live(x);
  auto pairs = [&](const int32_t* p, auto&& fn) {
    for (int i = 0; i < k; ++i)
      for (int i2 = i + 1; i2 < k; ++i2) fn(owner[key(p[i], p[i2])]);
  };
  auto remove = [&](int32_t id) {
    const int32_t last = static_cast<int32_t>(mine.size() / k) - 1;
    int32_t* p = &mine[static_cast<size_t>(id) * k];
    pairs(p, [](int32_t& o) { o = kFree; });
    for (int i = 0; i < k; ++i) {
      auto& ms = memb[p[i]];
      ms.erase(std::find(ms.begin(), ms.end(), id));
      --deg[p[i]];
      set_live(p[i]);
    }
    if (id != last) {  // the last chain takes the freed id
      const int32_t* q = &mine[static_cast<size_t>(last) * k];
      pairs(q, [id](int32_t& o) { o = id; });
      for (int i = 0; i < k; ++i) *std::find(memb[q[i]].begin(), memb[q[i]].end(), last) = id;
      std::copy(q, q + k, p);
    }
    mine.resize(mine.size() - k);
  };
  std::vector<int32_t> s;
  int64_t step = 0;
  while (!live.empty()) {
    if (++step > max_steps) break;
    s.assign(1, live[uniform(rng, static_cast<int>(live.size()))]);
    while (static_cast<int>(s.size()) < k) {  // each member: the fewest conflicts of a few samples
      int best = -1, best_conf = INT_MAX;
      for (int t = 0; t < 16 && best_conf > 0; ++t) {
        const int y = t < 8 ? live[uniform(rng, static_cast<int>(live.size()))] : uniform(rng, v);
        if (std::find(s.begin(), s.end(), y) != s.end()) continue;
        int conf = 0;
        for (const int z : s) {
          const int32_t o = owner[key(y, z)];
          conf = o == kGiven ? INT_MAX : conf + (o >= 0);
          if (conf == INT_MAX) break;
        }
        if (conf == INT_MAX || (deg[y] >= r && memb[y].empty())) continue;
        conf += deg[y] >= r;
        if (conf < best_conf) best = y, best_conf = conf;
      }
      if (best < 0) break;
      s.push_back(best);
    }
    if (static_cast<int>(s.size()) < k) continue;
    for (int i = 0; i < k; ++i)
      for (int i2 = i + 1; i2 < k; ++i2)
        if (const int32_t o = owner[key(s[i], s[i2])]; o >= 0) remove(o);
    for (const int y : s)
      if (deg[y] >= r) remove(memb[y][uniform(rng, static_cast<int>(memb[y].size()))]);
    const int32_t id = static_cast<int32_t>(mine.size() / k);
    mine.insert(mine.end(), s.begin(), s.end());
    pairs(s.data(), [id](int32_t& o) { o = id; });
    for (const int y : s) {
      memb[y].push_back(id);
      ++deg[y];
      set_live(y);
    }
  }
  steps += std::min(step, max_steps);
  if (!live.empty()) return false;
  blocks.insert(blocks.end(), mine.begin(), mine.end());
  return true;
}

bool packing(int v, int k, int r, uint64_t seed, int64_t max_steps, std::vector<int32_t>& blocks, int64_t& steps,
             std::string& method) {
  Rng rng(seed ^ kPackingSalt);
  std::vector<int32_t> found;
  const int cyclic = cyclic_packing(v, k, r, rng, found);
  // NOTE: no family for triples means a dense packing (v near 2r + 1): the hill-climb's case, and fast there
  if (cyclic == 0 && k == 3) return false;
  const int64_t budget = std::min<int64_t>(max_steps, kPackingSteps + 40LL * v * (r - cyclic) / k);
  if (cyclic < r && !complete_packing(v, k, r, found, rng, budget, steps)) return false;
  blocks = std::move(found);
  method = cyclic == r ? "cyclic construction" : cyclic ? "cyclic construction + packing search" : "packing search";
  return true;
}

}  // namespace ff::fs3
