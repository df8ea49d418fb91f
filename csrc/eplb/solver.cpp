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

// ---- Bindings ---------------------------------------------------------------------------------------

namespace ff::eplb {

nb::tuple finish_plan(const std::vector<int64_t>& p2l, int L, int E, int R, const std::vector<int64_t>* rank) {
  std::vector<int64_t> cnt((size_t)L * E, 0);
  int64_t K = 1;
  for (int l = 0; l < L; ++l)
    for (int p = 0; p < R; ++p) K = std::max(K, ++cnt[(size_t)l * E + p2l[(size_t)l * R + p]]);
  int64_t *a, *b, *c;
  auto phy = new_array<int64_t>({(size_t)L, (size_t)R}, &a);
  auto l2p = new_array<int64_t>({(size_t)L, (size_t)E, (size_t)K}, &b);
  auto lc = new_array<int64_t>({(size_t)L, (size_t)E}, &c);
  std::copy(p2l.begin(), p2l.end(), a);
  std::copy(cnt.begin(), cnt.end(), c);
  std::fill(b, b + (size_t)L * E * K, -1);
  std::vector<int64_t> fill((size_t)E);
  for (int l = 0; l < L; ++l) {
    std::fill(fill.begin(), fill.end(), 0);
    for (int p = 0; p < R; ++p) {
      const int64_t e = p2l[(size_t)l * R + p];
      const int64_t r = rank ? (*rank)[(size_t)l * R + p] : fill[e]++;
      b[((size_t)l * E + e) * K + r] = p;
    }
  }
  return nb::make_tuple(phy, l2p, lc);
}

Shape check_shape(const float* w, size_t layers, size_t experts, int64_t replicas, int64_t groups, int64_t nodes,
                  int64_t gpus) {
  FF_CHECK_FIELD(layers > 0 && experts > 0, "weight",
                 "expected a non-empty [layers, experts] array, got shape [" << layers << ", " << experts << "]");
  // NOTE: Shape holds 32-bit counts; a larger one would be truncated into a different, valid-looking layout.
  FF_CHECK_FIELD(gpus > 0 && gpus <= INT32_MAX, "gpus", "must be in 1.." << INT32_MAX << ", got " << gpus);
  FF_CHECK_FIELD(nodes > 0 && nodes <= INT32_MAX, "nodes", "must be in 1.." << INT32_MAX << ", got " << nodes);
  FF_CHECK_FIELD(groups > 0 && groups <= INT32_MAX, "groups", "must be in 1.." << INT32_MAX << ", got " << groups);
  FF_CHECK_FIELD(replicas >= (int64_t)experts, "replicas",
                 replicas << " replicas is fewer than the " << experts << " experts; every expert needs a slot");
  FF_CHECK_FIELD(replicas % gpus == 0, "replicas", replicas << " replicas is not a multiple of " << gpus << " GPUs");
  FF_CHECK_FIELD(gpus % nodes == 0, "gpus", gpus << " GPUs is not a multiple of " << nodes << " nodes");
  FF_CHECK_FIELD(replicas <= INT32_MAX && experts <= INT32_MAX && layers <= INT32_MAX, "replicas",
                 "too large: " << replicas << " replicas");
  // NOTE: the plan's three int64 arrays (log2phy up to replicas wide) and the solvers' scratch.
  check_fits(8.0 * layers * (2.0 * replicas + 2.0 * experts + (double)replicas - experts + 1) + 64.0 * replicas,
             "a plan of this size", "replicas");
  for (size_t i = 0; i < layers * experts; ++i)
    FF_CHECK_FIELD(std::isfinite(w[i]) && w[i] >= 0, "weight",
                   "load at layer " << i / experts << ", expert " << i % experts << " is " << w[i]
                                    << "; loads must be finite and non-negative");
  return Shape{(int)experts, (int)replicas, (int)groups, (int)nodes, (int)gpus};
}

void check_hierarchical(const Shape& s, bool hierarchical) {
  if (hierarchical)
    FF_CHECK_FIELD(s.groups % s.nodes == 0, "groups",
                   s.groups << " groups is not a multiple of " << s.nodes << " nodes, as the hierarchical policy needs");
  if (hierarchical || s.groups % s.nodes == 0)
    FF_CHECK_FIELD(s.experts % s.groups == 0, "groups",
                   s.experts << " experts is not a multiple of " << s.groups << " groups (hierarchical policy)");
}

}  // namespace ff::eplb

void register_eplb_migrate(nb::module_ m);
void register_eplb_deepseek(nb::module_ m);

void register_eplb(nb::module_ m) {
  using namespace ff;
  using namespace ff::eplb;
  m.def(
      "balanced",
      [](In2<float> weight, int64_t num_replicas, int64_t num_groups, int64_t num_nodes, int64_t num_gpus,
         bool hierarchical) {
        Shape s = check_shape(weight.data(), weight.shape(0), weight.shape(1), num_replicas, num_groups, num_nodes,
                              num_gpus);
        check_hierarchical(s, hierarchical);
        const int L = (int)weight.shape(0), E = s.experts, R = s.replicas;
        std::vector<int64_t> p2l((size_t)L * R), cnt((size_t)L * E);
        {
          nb::gil_scoped_release nogil;
          const float* w = weight.data();
          parallel_for(L, [&](int l) {
            balanced_layer(w + (size_t)l * E, s, hierarchical, &p2l[(size_t)l * R], &cnt[(size_t)l * E]);
          });
        }
        return finish_plan(p2l, L, E, R);
      },
      nb::arg("weight"), nb::arg("num_replicas"), nb::arg("num_groups"), nb::arg("num_nodes"), nb::arg("num_gpus"),
      nb::arg("hierarchical") = false,
      "The balanced policy on every layer: (phy2log [L,R], log2phy [L,E,K] slots ascending, logcnt [L,E]).");
  m.def(
      "imbalance",
      [](In2<float> weight, In2<int64_t> phy2log, int64_t num_gpus) {
        const int L = (int)weight.shape(0), E = (int)weight.shape(1), R = (int)phy2log.shape(1);
        FF_CHECK_FIELD((int)phy2log.shape(0) == L, "physical_to_logical_map",
                       "plan has " << phy2log.shape(0) << " layers, load has " << L);
        FF_CHECK_FIELD(num_gpus > 0 && R % num_gpus == 0, "gpus",
                       R << " replicas is not a multiple of " << num_gpus << " GPUs");
        const int64_t* p = phy2log.data();
        for (size_t i = 0; i < phy2log.size(); ++i)
          FF_CHECK_FIELD(p[i] >= 0 && p[i] < E, "physical_to_logical_map",
                         "plan names expert " << p[i] << ", load has " << E << " experts");
        for (int l = 0; l < L; ++l) {
          std::vector<char> seen(E, 0);
          int n = 0;
          for (int q = 0; q < R; ++q) n += !seen[p[(size_t)l * R + q]], seen[p[(size_t)l * R + q]] = 1;
          FF_CHECK_FIELD(n == E, "physical_to_logical_map",
                         "layer " << l << " does not place every one of the " << E << " experts (" << n << " placed)");
        }
        Shape s{E, R, 1, 1, (int)num_gpus};
        std::vector<double> out(L);
        for (int l = 0; l < L; ++l) out[l] = imbalance(weight.data() + (size_t)l * E, p + (size_t)l * R, s);
        return to_numpy(std::move(out));
      },
      nb::arg("weight"), nb::arg("phy2log"), nb::arg("num_gpus"), "Max over mean GPU load of each layer.");
  register_eplb_migrate(m);
  register_eplb_deepseek(m);
}
