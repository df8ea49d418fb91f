// EPLB: our balanced policy, the imbalance measure and the checks every policy shares. Bindings at the bottom;
// DeepSeek's policy is in deepseek.cpp, migration-aware plans in migrate.cpp.
#include "eplb/eplb.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <string>

#include "common/arrays.h"
#include "common/common.h"
#include "common/memory.h"
#include "common/thread_pool.h"
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace ff::eplb {

double imbalance(const float* w, const int64_t* phy2log, const Shape& s) {
  const int R = s.replicas, per = R / s.gpus;
  std::vector<int> cnt(s.experts, 0);
  for (int p = 0; p < R; ++p) cnt[phy2log[p]]++;
  double total = 0, mx = 0;
  for (int e = 0; e < s.experts; ++e) total += w[e];
  for (int g = 0; g < s.gpus; ++g) {
    double l = 0;
    for (int j = 0; j < per; ++j) {
      int e = (int)phy2log[g * per + j];
      l += (double)w[e] / cnt[e];
    }
    mx = std::max(mx, l);
  }
  double mean = total / s.gpus;
  return mean > 0 ? mx / mean : 1.0;
}

// ---- Balanced policy ------------------------------------------------------------------------------

namespace {

// n experts (loads w) in G GPUs of k slots: slot[g*k+j] is an expert index, cnt its replica counts.
struct Packing {
  int G = 0, k = 0;
  std::vector<int> slot, cnt;
  std::vector<double> load;
  double max = 0;

  void recompute(const std::vector<double>& w) {
    load.assign(G, 0.0);
    for (int p = 0; p < G * k; ++p) load[p / k] += w[slot[p]] / cnt[slot[p]];
    max = *std::max_element(load.begin(), load.end());
  }
  bool on(int g, int e) const {
    for (int j = 0; j < k; ++j)
      if (slot[g * k + j] == e) return true;
    return false;
  }
};

// Pairwise swaps that lower the heaviest GPU, never putting two replicas of one expert on a GPU.
void local_search(const std::vector<double>& w, Packing& P) {
  const int G = P.G, k = P.k, S = G * k;
  for (int iter = 0; iter < 8 * S; ++iter) {
    int gs = (int)(std::max_element(P.load.begin(), P.load.end()) - P.load.begin());
    double best = P.load[gs] * (1 - 1e-12);
    int ba = -1, bb = -1;
    for (int a = gs * k; a < gs * k + k; ++a) {
      int ea = P.slot[a];
      double va = w[ea] / P.cnt[ea];
      for (int b = 0; b < S; ++b) {
        int h = b / k, eb = P.slot[b];
        if (h == gs || eb == ea) continue;
        double vb = w[eb] / P.cnt[eb];
        if (vb >= va) continue;
        double m = std::max(P.load[gs] - va + vb, P.load[h] - vb + va);
        if (m < best && !P.on(h, ea) && !P.on(gs, eb)) best = m, ba = a, bb = b;
      }
    }
    if (ba < 0) break;
    std::swap(P.slot[ba], P.slot[bb]);
    int ea = P.slot[bb], eb = P.slot[ba];
    double va = w[ea] / P.cnt[ea], vb = w[eb] / P.cnt[eb];
    P.load[gs] += vb - va;
    P.load[bb / k] += va - vb;
  }
  P.max = *std::max_element(P.load.begin(), P.load.end());
}

std::vector<int> desc_order(const std::vector<double>& v) {
  std::vector<int> o(v.size());
  std::iota(o.begin(), o.end(), 0);
  std::stable_sort(o.begin(), o.end(), [&](int a, int b) { return v[a] > v[b]; });
  return o;
}

// Replicas (by the given counts) in descending load into the lightest GPU with room that does not
// hold the expert yet (falling back to the lightest with room).
void lpt_pack(const std::vector<double>& w, Packing& P) {
  const int n = (int)w.size(), G = P.G, k = P.k;
  std::vector<double> rv;
  std::vector<int> re;
  for (int e = 0; e < n; ++e)
    for (int c = 0; c < P.cnt[e]; ++c) rv.push_back(w[e] / P.cnt[e]), re.push_back(e);
  std::vector<int> order = desc_order(rv);
  std::vector<int> used(G, 0);
  P.slot.assign(G * k, -1);
  P.load.assign(G, 0.0);
  for (int i : order) {
    int e = re[i], best = -1, fb = -1;
    for (int g = 0; g < G; ++g) {
      if (used[g] >= k) continue;
      if (fb < 0 || P.load[g] < P.load[fb]) fb = g;
      if ((best < 0 || P.load[g] < P.load[best]) && !P.on(g, e)) best = g;
    }
    if (best < 0) best = fb;
    P.slot[best * k + used[best]++] = e;
    P.load[best] += rv[i];
  }
  P.max = *std::max_element(P.load.begin(), P.load.end());
}

// Counts and placement together for a target max GPU load T: experts in descending load, each with the
// fewest replicas whose share fits into that many distinct GPUs (worst fit or best fit), keeping a slot
// for every expert still to come. Leftover slots go to the experts with the highest load per replica.
bool construct(const std::vector<double>& w, const std::vector<int>& order, double T, bool best_fit,
               Packing& P) {
  const int n = (int)w.size(), G = P.G, k = P.k;
  const double tol = 1e-9 * T;
  using Key = std::pair<double, int>;  // (-residual, gpu): largest residual first
  std::set<Key> open;
  std::vector<double> res(G, T);
  std::vector<int> used(G, 0);
  for (int g = 0; g < G; ++g) open.insert({-T, g});
  P.cnt.assign(n, 0);
  P.slot.assign(G * k, -1);
  int free_slots = G * k;
  std::vector<int> chosen;
  for (int idx = 0; idx < n; ++idx) {
    const int e = order[idx];
    const int avail = std::min(free_slots - (n - idx - 1), (int)open.size());
    int c = 0;
    auto it = open.begin();
    for (int cc = 1; cc <= avail; ++cc, ++it)
      if (-it->first >= w[e] / cc - tol) {
        c = cc;
        break;
      }
    if (!c) return false;
    const double q = w[e] / c;
    chosen.clear();
    if (best_fit) {
      auto end = open.upper_bound({-(q - tol), INT_MAX});
      for (int i = 0; i < c; ++i) chosen.push_back((--end)->second);
    } else {
      auto b = open.begin();
      for (int i = 0; i < c; ++i, ++b) chosen.push_back(b->second);
    }
    for (int g : chosen) {
      open.erase({-res[g], g});
      res[g] -= q;
      P.slot[g * k + used[g]++] = e;
      if (used[g] < k) open.insert({-res[g], g});
    }
    free_slots -= c;
    P.cnt[e] = c;
  }
  // Leftover slots: a new replica of an expert on the heaviest GPU where that lowers it, else the
  // lightest new replica on the lightest GPU with room.
  std::vector<double> load(G, 0.0);
  for (int p = 0; p < G * k; ++p)
    if (P.slot[p] >= 0) load[p / k] += w[P.slot[p]] / P.cnt[P.slot[p]];
  while (free_slots > 0) {
    int gs = (int)(std::max_element(load.begin(), load.end()) - load.begin());
    int be = -1, bg = -1;
    double bm = load[gs] * (1 - 1e-12);
    for (int j = 0; j < used[gs]; ++j) {
      int e = P.slot[gs * k + j];
      double nv = w[e] / (P.cnt[e] + 1);
      for (int g = 0; g < G; ++g)
        if (used[g] < k && !P.on(g, e) && load[g] + nv < bm) bm = load[g] + nv, be = e, bg = g;
    }
    if (be < 0) {
      for (int g = 0; g < G; ++g)
        if (used[g] < k && (bg < 0 || load[g] < load[bg])) bg = g;
      for (int e = 0; e < n; ++e)
        if (!P.on(bg, e) && (be < 0 || w[e] / (P.cnt[e] + 1) < w[be] / (P.cnt[be] + 1))) be = e;
      if (be < 0) be = 0;
    }
    P.slot[bg * k + used[bg]++] = be;
    P.cnt[be]++;
    free_slots--;
    std::fill(load.begin(), load.end(), 0.0);
    for (int p = 0; p < G * k; ++p)
      if (P.slot[p] >= 0) load[p / k] += w[P.slot[p]] / P.cnt[P.slot[p]];
  }
  P.recompute(w);
  return true;
}

// LPT loads of a count vector (replicas in descending load into the lightest GPU with room), as the
// heaviest loads in descending order plus the experts on the two heaviest GPUs.
struct Eval {
  std::vector<double> top;
  std::vector<int> hot;
};

void evaluate(const std::vector<double>& w, const std::vector<int>& cnt, int G, int k, Eval& ev) {
  const int n = (int)w.size();
  std::vector<std::pair<double, int>> items;
  items.reserve(G * k);
  for (int e = 0; e < n; ++e)
    for (int c = 0; c < cnt[e]; ++c) items.push_back({-w[e] / cnt[e], e});
  std::sort(items.begin(), items.end());
  using Q = std::pair<double, int>;
  std::vector<Q> heap;
  for (int g = 0; g < G; ++g) heap.push_back({0.0, g});  // already a min-heap
  std::vector<int> used(G, 0), owner(items.size());
  std::vector<double> load(G, 0.0);
  auto gt = std::greater<Q>();
  for (size_t i = 0; i < items.size(); ++i) {
    std::pop_heap(heap.begin(), heap.end(), gt);
    int g = heap.back().second;
    heap.pop_back();
    load[g] -= items[i].first;
    owner[i] = g;
    if (++used[g] < k) heap.push_back({load[g], g}), std::push_heap(heap.begin(), heap.end(), gt);
  }
  std::vector<int> gi(G);
  std::iota(gi.begin(), gi.end(), 0);
  const int m = std::min(G, 40);
  std::partial_sort(gi.begin(), gi.begin() + m, gi.end(), [&](int a, int b) { return load[a] > load[b]; });
  ev.top.resize(m);
  for (int i = 0; i < m; ++i) ev.top[i] = load[gi[i]];
  ev.hot.clear();
  for (size_t i = 0; i < items.size(); ++i)
    if (owner[i] == gi[0] || (G > 1 && owner[i] == gi[1])) ev.hot.push_back(items[i].second);
  std::sort(ev.hot.begin(), ev.hot.end());
  ev.hot.erase(std::unique(ev.hot.begin(), ev.hot.end()), ev.hot.end());
}

bool better(const Eval& a, const Eval& b) {
  for (size_t i = 0; i < a.top.size(); ++i) {
    if (a.top[i] < b.top[i] * (1 - 1e-12)) return true;
    if (a.top[i] > b.top[i] * (1 + 1e-12)) return false;
  }
  return false;
}

// Hill climbing on replica counts: move one replica from any replicated expert to one on the heaviest
// GPUs while the sorted heaviest loads improve lexicographically (this finds "filler" replicas of light
// experts that pair with heavy ones, which the greedy never makes).
void count_search(const std::vector<double>& w, int G, int k, std::vector<int>& cnt) {
  const int n = (int)w.size();
  Eval cur, v;
  evaluate(w, cnt, G, k, cur);
  int evals = 0;
  const double floor = std::accumulate(w.begin(), w.end(), 0.0) / G * (1 + 1e-4);
  std::vector<int> donors, hot;
  for (bool improved = true; improved && evals < 800 && cur.top[0] > floor;) {
    improved = false;
    // NOTE: candidates in load order, not index order, so a permutation of the experts does not
    // change the path: heaviest per-replica hot experts first, cheapest donors first.
    hot = cur.hot;
    std::stable_sort(hot.begin(), hot.end(), [&](int a, int b) { return w[a] / cnt[a] > w[b] / cnt[b]; });
    donors.clear();
    for (int x = 0; x < n; ++x)
      if (cnt[x] >= 2) donors.push_back(x);
    std::stable_sort(donors.begin(), donors.end(),
                     [&](int a, int b) { return w[a] / (cnt[a] - 1) < w[b] / (cnt[b] - 1); });
    for (int y : hot) {
      if (cnt[y] >= G) continue;
      for (int x : donors) {
        if (x == y) continue;
        cnt[x]--, cnt[y]++, evals++;
        evaluate(w, cnt, G, k, v);
        if (better(v, cur)) {
          std::swap(cur, v), improved = true;
          break;
        }
        cnt[x]++, cnt[y]--;
      }
      if (improved) break;
    }
  }
}

// One sub-problem of the balanced policy: the best of the greedy counts (LPT + swaps) and a binary
// search on the target max load over constructed count/placement pairs.
Packing balanced_sub(const std::vector<double>& w, int G, int k) {
  const int n = (int)w.size();
  const double total = std::accumulate(w.begin(), w.end(), 0.0), good = total / G * (1 + 1e-3);
  Packing best;
  best.G = G, best.k = k;
  {  // greedy counts, as DeepSeek's replication gives them
    std::vector<float> wf(w.begin(), w.end());
    std::vector<int64_t> p2l(G * k), rank(G * k), cnt(n);
    replicate_row(wf.data(), n, G * k, p2l.data(), rank.data(), cnt.data());
    best.cnt.assign(cnt.begin(), cnt.end());
    lpt_pack(w, best);
    local_search(w, best);
  }
  if (best.max <= good) return best;
  {
    Packing cs = best;
    count_search(w, G, k, cs.cnt);
    lpt_pack(w, cs);
    local_search(w, cs);
    if (cs.max < best.max) best = cs;
  }
  if (best.max <= good) return best;
  const std::vector<int> order = desc_order(w);
  double lo = total / G, hi = best.max;
  Packing cand, top;
  cand.G = G, cand.k = k;
  top.max = INFINITY;
  for (int it = 0; it < 18 && hi - lo > 1e-7 * hi; ++it) {
    double mid = 0.5 * (lo + hi);
    bool ok = false;
    for (bool bf : {false, true})
      if (construct(w, order, mid, bf, cand)) {
        ok = true;
        if (cand.max < top.max) top = cand;
      }
    if (ok)
      hi = mid;
    else
      lo = mid;
  }
  if (top.max < INFINITY) {
    local_search(w, top);
    if (top.max < best.max) best = top;
  }
  return best;
}

void balanced_layer_impl(const float* w, const Shape& s, bool hierarchical, int64_t* phy2log, int64_t* logcnt) {
  const int E = s.experts, R = s.replicas, nodes = hierarchical ? s.nodes : 1;
  const int groups = hierarchical ? s.groups : 1, gs = E / groups, gpn = groups / nodes;
  const int per = R / s.gpus, gpus_n = s.gpus / nodes, Rn = R / nodes;
  // groups onto nodes: LPT with swaps on group loads
  Packing gp;
  gp.G = nodes, gp.k = gpn;
  std::vector<double> gw(groups, 0.0);
  for (int g = 0; g < groups; ++g)
    for (int j = 0; j < gs; ++j) gw[g] += w[g * gs + j];
  gp.cnt.assign(groups, 1);
  lpt_pack(gw, gp);
  local_search(gw, gp);
  for (int n = 0; n < nodes; ++n) {
    std::vector<int> ex;  // global expert ids on this node, ascending
    for (int j = 0; j < gpn; ++j)
      for (int i = 0; i < gs; ++i) ex.push_back(gp.slot[n * gpn + j] * gs + i);
    std::sort(ex.begin(), ex.end());
    std::vector<double> wn(ex.size());
    for (size_t i = 0; i < ex.size(); ++i) wn[i] = w[ex[i]];
    Packing P = balanced_sub(wn, gpus_n, per);
    for (int g = 0; g < gpus_n; ++g) {
      std::vector<int> v(P.slot.begin() + g * per, P.slot.begin() + (g + 1) * per);
      std::sort(v.begin(), v.end());
      for (int j = 0; j < per; ++j) phy2log[n * Rn + g * per + j] = ex[v[j]];
    }
    for (size_t i = 0; i < ex.size(); ++i) logcnt[ex[i]] = P.cnt[i];
  }
}

}  // namespace

void balanced_layer(const float* w, const Shape& s, bool hierarchical, int64_t* phy2log, int64_t* logcnt) {
  balanced_layer_impl(w, s, hierarchical, phy2log, logcnt);
  // NOTE: the guarantee "never worse than deepseek" is enforced, not hoped for.
  std::vector<int64_t> dp(s.replicas), dc(s.experts);
  deepseek_layer(w, s, dp.data(), dc.data());
  if (imbalance(w, dp.data(), s) < imbalance(w, phy2log, s) * (1 - 1e-12)) {
    std::copy(dp.begin(), dp.end(), phy2log);
    std::copy(dc.begin(), dc.end(), logcnt);
  }
}

}  // namespace ff::eplb
