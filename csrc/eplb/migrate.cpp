// Migration-aware planning: start from the previous plan and change only what is needed to come within a
// tolerance of the best max/mean for the new loads, counting copies ((GPU, expert) pairs not held before).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/arrays.h"
#include "common/common.h"
#include "common/thread_pool.h"
#include "eplb/eplb.h"

namespace ff::eplb {
namespace {

int count_copies(const std::vector<int64_t>& plan, const std::vector<char>& old, int E, int per) {
  const int R = (int)plan.size();
  std::vector<char> seen(old.size(), 0);
  int copies = 0;
  for (int p = 0; p < R; ++p) {
    size_t key = (size_t)(p / per) * E + plan[p];
    if (!seen[key] && !old[key]) copies++;
    seen[key] = 1;
  }
  return copies;
}

// Permute the GPUs of a fresh plan (within nodes, and nodes too where hierarchical) to overlap most with
// the previous plan. Greedy matching on overlap; slots within a GPU keep their previous position.
std::vector<int64_t> align(const std::vector<int64_t>& fresh, const int64_t* prev, const Shape& s, bool hier) {
  const int R = s.replicas, per = R / s.gpus, E = s.experts;
  const int blocks = hier ? s.nodes : 1, gb = s.gpus / blocks;
  auto overlap = [&](int gf, int go) {
    int o = 0;
    for (int i = 0; i < per; ++i)
      for (int j = 0; j < per; ++j)
        if (fresh[gf * per + i] == prev[go * per + j]) {
          o++;
          break;
        }
    return o;
  };
  auto match = [](int n, const std::vector<int>& score) {  // greedy max-overlap assignment, score[a*n+b]
    std::vector<int> idx(n * n);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return score[a] > score[b]; });
    std::vector<int> to(n, -1), taken(n, 0);
    for (int x : idx) {
      int a = x / n, b = x % n;
      if (to[a] < 0 && !taken[b]) to[a] = b, taken[b] = 1;
    }
    return to;
  };
  std::vector<int> bto(blocks, 0);
  if (blocks > 1) {
    std::vector<int> bs(blocks * blocks, 0);
    for (int a = 0; a < blocks; ++a)
      for (int b = 0; b < blocks; ++b)
        for (int i = 0; i < gb; ++i)
          for (int j = 0; j < gb; ++j) bs[a * blocks + b] += overlap(a * gb + i, b * gb + j);
    bto = match(blocks, bs);
  }
  std::vector<int64_t> out(R);
  std::vector<int> sc(gb * gb);
  for (int a = 0; a < blocks; ++a) {
    int b = bto[a];
    for (int i = 0; i < gb; ++i)
      for (int j = 0; j < gb; ++j) sc[i * gb + j] = overlap(a * gb + i, b * gb + j);
    std::vector<int> to = match(gb, sc);
    for (int i = 0; i < gb; ++i) {
      int gf = a * gb + i, go = b * gb + to[i];
      // keep an expert in the slot it held before where the GPU already had it
      std::vector<int64_t> items(fresh.begin() + gf * per, fresh.begin() + (gf + 1) * per);
      std::vector<int64_t> dst(per, -1);
      for (int j = 0; j < per; ++j) {
        auto f = std::find(items.begin(), items.end(), prev[go * per + j]);
        if (f != items.end()) dst[j] = *f, *f = -1;
      }
      size_t q = 0;
      for (int j = 0; j < per; ++j)
        if (dst[j] < 0) {
          while (items[q] < 0) ++q;
          dst[j] = items[q++];
        }
      std::copy(dst.begin(), dst.end(), out.begin() + go * per);
    }
  }
  (void)E;
  return out;
}

struct Result {
  std::vector<int64_t> plan;
  double ratio;
  int copies;
};

// Local repair of the previous plan: while the heaviest GPU is above the target, apply the cheapest
// (fewest new copies) swap or replica move that brings it down without lifting another GPU to its level.
// A move of the repair: kind 1 swaps slots a and b; kind 2 puts slot a's expert into slot b.
struct Move {
  int kind, a, b;
};

void apply(std::vector<int64_t>& slot, const Move& m) {
  if (m.kind == 1) std::swap(slot[m.a], slot[m.b]);
  else slot[m.b] = slot[m.a];
}

// traj, if given, gets each move and (copies, max/mean) after it: applying the first k moves to the
// previous plan rebuilds the plan after move k.
Result repair(const float* wf, const int64_t* prev, const Shape& s, bool hier, double target, int budget,
              const std::vector<char>& old, std::vector<std::pair<Move, std::pair<int, double>>>* traj = nullptr) {
  const int R = s.replicas, G = s.gpus, per = R / G, E = s.experts, gpn = G / s.nodes;
  std::vector<double> w(wf, wf + E);
  std::vector<int64_t> slot(prev, prev + R);
  std::vector<int> cnt(E, 0), pres((size_t)G * E, 0);
  std::vector<std::vector<int>> where(E);  // slots of each expert
  for (int p = 0; p < R; ++p) cnt[slot[p]]++, pres[(size_t)(p / per) * E + slot[p]]++, where[slot[p]].push_back(p);
  std::vector<double> load(G, 0.0);
  for (int p = 0; p < R; ++p) load[p / per] += w[slot[p]] / cnt[slot[p]];
  const double total = std::accumulate(w.begin(), w.end(), 0.0), mean = total / G;
  const double level = target * mean;
  int copies = count_copies(slot, old, E, per);
  auto newc = [&](int g, int e) { return old[(size_t)g * E + e] ? 0 : 1; };
  std::vector<std::pair<int, double>> aff;
  auto bump = [&](int g, double d) {
    for (auto& a : aff)
      if (a.first == g) {
        a.second += d;
        return;
      }
    aff.push_back({g, load[g] + d});
  };
  for (int iter = 0; iter < 4 * R; ++iter) {
    int gs = (int)(std::max_element(load.begin(), load.end()) - load.begin());
    if (load[gs] <= level) break;
    const double limit = load[gs] * (1 - 1e-12);
    int bcost = INT32_MAX, kind = 0, ba = -1, bb = -1;
    double bmax = INFINITY;
    // Moves that bring the GPU down to the level first (cheapest, then lowest), else the cheapest.
    bool bdone = false;
    auto consider = [&](int cost, double m, int k, int a, int b) {
      if (copies + cost > budget) return;
      const bool done = m <= level;
      if (done != bdone ? done : (cost < bcost || (cost == bcost && m < bmax)))
        bdone = done, bcost = cost, bmax = m, kind = k, ba = a, bb = b;
    };
    const int node = gs / gpn;
    for (int a = gs * per; a < gs * per + per; ++a) {
      const int ea = (int)slot[a];
      const double va = w[ea] / cnt[ea];
      for (int b = 0; b < R; ++b) {
        const int h = b / per, eb = (int)slot[b];
        if (h == gs || eb == ea || (hier && h / gpn != node)) continue;
        // swap a <-> b
        const double vb = w[eb] / cnt[eb];
        if (vb < va && !pres[(size_t)h * E + ea] && !pres[(size_t)gs * E + eb]) {
          double m = std::max(load[gs] - va + vb, load[h] - vb + va);
          if (m < limit) {
            int cost = newc(h, ea) + newc(gs, eb) - newc(gs, ea) - newc(h, eb);
            consider(cost, m, 1, a, b);
          }
        }
        // replace b's expert (which keeps another replica) by a new replica of ea
        // (h's new load alone bounds the move's max from below: skip it early when that is too high)
        if (cnt[eb] >= 2 && !pres[(size_t)h * E + ea] && load[h] - vb + w[ea] / (cnt[ea] + 1) < limit) {
          aff.clear();
          const double dy = w[ea] / (cnt[ea] + 1) - va, dx = w[eb] / (cnt[eb] - 1) - vb;
          for (int p : where[ea]) bump(p / per, dy);
          for (int p : where[eb])
            if (p != b) bump(p / per, dx);
          bump(h, w[ea] / (cnt[ea] + 1) - vb);
          double m = 0;
          for (auto& x : aff) m = std::max(m, x.second);
          if (m < limit) {
            int cost = newc(h, ea) - (pres[(size_t)h * E + eb] == 1 ? newc(h, eb) : 0);
            consider(cost, m, 2, a, b);
          }
        }
      }
    }
    if (kind == 0) break;
    const int ea = (int)slot[ba], eb = (int)slot[bb], h = bb / per;
    copies += bcost;
    auto drop = [&](int e, int p) { where[e].erase(std::find(where[e].begin(), where[e].end(), p)); };
    if (kind == 1) {
      const double va = w[ea] / cnt[ea], vb = w[eb] / cnt[eb];
      slot[ba] = eb, slot[bb] = ea;
      pres[(size_t)gs * E + ea]--, pres[(size_t)gs * E + eb]++, pres[(size_t)h * E + eb]--, pres[(size_t)h * E + ea]++;
      drop(ea, ba), drop(eb, bb), where[ea].push_back(bb), where[eb].push_back(ba);
      load[gs] += vb - va, load[h] += va - vb;
    } else {
      slot[bb] = ea;
      pres[(size_t)h * E + eb]--, pres[(size_t)h * E + ea]++;
      drop(eb, bb), where[ea].push_back(bb);
      cnt[ea]++, cnt[eb]--;
      std::fill(load.begin(), load.end(), 0.0);
      for (int p = 0; p < R; ++p) load[p / per] += w[slot[p]] / cnt[slot[p]];
    }
    if (traj)
      traj->push_back({{kind, ba, bb}, {copies, mean > 0 ? *std::max_element(load.begin(), load.end()) / mean : 1.0}});
  }
  return {slot, imbalance(wf, slot.data(), s), copies};
}

// One layer's options, from the previous plan towards the best for the new loads: the previous plan, each
// prefix of its local repair, and the fresh plan aligned to the previous one, kept where they form the lower
// convex hull of (copies, max/mean). tag: k >= 0 the repair after k moves (0: the previous plan), -1 aligned.
struct Options {
  double fresh;  // max/mean of the fresh plan: the best we know for the new loads
  std::vector<int> copies, tag;
  std::vector<double> ratio;
  std::vector<int64_t> aligned;
  std::vector<Move> moves;
};

Options layer_options(const float* w, const int64_t* prev, const Shape& s, bool hier, int budget) {
  const int R = s.replicas, E = s.experts, per = R / s.gpus;
  std::vector<int64_t> fresh(R), fcnt(E);
  balanced_layer(w, s, hier, fresh.data(), fcnt.data());
  Options o;
  o.fresh = imbalance(w, fresh.data(), s);
  std::vector<char> old((size_t)s.gpus * E, 0);
  for (int p = 0; p < R; ++p) old[(size_t)(p / per) * E + prev[p]] = 1;
  struct Pt {
    int c;
    double r;
    int tag;
  };
  std::vector<Pt> pts{{0, imbalance(w, prev, s), 0}};
  if (pts[0].r > o.fresh) {
    std::vector<std::pair<Move, std::pair<int, double>>> traj;
    repair(w, prev, s, hier, o.fresh, budget, old, &traj);
    for (size_t k = 0; k < traj.size(); ++k) {
      o.moves.push_back(traj[k].first);
      pts.push_back({traj[k].second.first, traj[k].second.second, (int)k + 1});
    }
    o.aligned = align(fresh, prev, s, hier);
    pts.push_back({count_copies(o.aligned, old, E, per), imbalance(w, o.aligned.data(), s), -1});
  }
  std::stable_sort(pts.begin(), pts.end(), [](const Pt& a, const Pt& b) { return a.c != b.c ? a.c < b.c : a.r < b.r; });
  std::vector<Pt> hull;
  for (const Pt& q : pts) {
    if (!hull.empty() && q.r >= hull.back().r) continue;  // more copies, no better
    while (hull.size() >= 2) {  // keep slopes flattening: drop a point above the chord
      const Pt &a = hull[hull.size() - 2], &b = hull.back();
      if ((a.r - b.r) * (q.c - b.c) <= (b.r - q.r) * (b.c - a.c)) hull.pop_back();
      else break;
    }
    hull.push_back(q);
  }
  for (const Pt& q : hull) o.copies.push_back(q.c), o.ratio.push_back(q.r), o.tag.push_back(q.tag);
  return o;
}

// The plan of option i of a layer.
std::vector<int64_t> build_option(const int64_t* prev, const Shape& s, const Options& o, int i) {
  const int tag = o.tag[i];
  if (tag < 0) return o.aligned;
  std::vector<int64_t> slot(prev, prev + s.replicas);
  for (int k = 0; k < tag; ++k) apply(slot, o.moves[k]);
  return slot;
}

// Across layers: the tolerance bounds the plan's max/mean (the mean over layers, as `evaluate` reports it),
// so copies go where they buy the most balance: hull segments by falling max/mean per copy, until the plan
// is within tolerance of the fresh plans (or the copy budget is spent; or all options are taken).
std::vector<int> choose(const std::vector<Options>& opts, double tol, long long budget) {
  const int L = (int)opts.size();
  std::vector<int> at(L, 0);
  double sum = 0, target = 0;
  for (const auto& o : opts) sum += o.ratio[0], target += o.fresh;
  target *= 1 + tol;
  long long spent = 0;
  for (const auto& o : opts) spent += o.copies[0];
  auto slope = [&](int l) {
    const auto& o = opts[l];
    return (o.ratio[at[l]] - o.ratio[at[l] + 1]) / (double)(o.copies[at[l] + 1] - o.copies[at[l]]);
  };
  std::vector<std::pair<double, int>> heap;  // (slope, -layer): steepest first, then the lower layer
  auto push = [&](int l) {
    if (at[l] + 1 < (int)opts[l].ratio.size()) heap.push_back({slope(l), -l}), std::push_heap(heap.begin(), heap.end());
  };
  for (int l = 0; l < L; ++l) push(l);
  while (sum > target * (1 + 1e-12) && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const int l = -heap.back().second;
    heap.pop_back();
    const auto& o = opts[l];
    const int dc = o.copies[at[l] + 1] - o.copies[at[l]];
    if (spent + dc > budget) continue;  // this layer's next step does not fit; cheaper ones elsewhere may
    spent += dc, sum += o.ratio[at[l] + 1] - o.ratio[at[l]], at[l]++;
    push(l);
  }
  return at;
}

}  // namespace

std::vector<int64_t> migrate_plans(const float* w, const int64_t* pv, int L, const Shape& s, bool hierarchical,
                                   double tolerance, long long budget) {
  const int E = s.experts, R = s.replicas;
  std::vector<int64_t> p2l((size_t)L * R);
  std::vector<Options> opts(L);
  parallel_for(L, [&](int l) {
    opts[l] = layer_options(w + (size_t)l * E, pv + (size_t)l * R, s, hierarchical,
                            (int)std::min<long long>(budget, INT32_MAX));
  });
  std::vector<int> at = choose(opts, tolerance, budget);
  parallel_for(L, [&](int l) {
    auto r = build_option(pv + (size_t)l * R, s, opts[l], at[l]);
    std::copy(r.begin(), r.end(), p2l.begin() + (size_t)l * R);
  });
  return p2l;
}

}  // namespace ff::eplb
