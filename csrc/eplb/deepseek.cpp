// DeepSeek's EPLB (eplb.py), step by step, with the sort orders given by the caller.
//
// eplb.py orders items with torch's descending, unstable sort, whose order among equal loads depends on
// torch's sorting backend (x86-simd-sort on AVX2/AVX-512 machines, std::sort elsewhere); integer token
// counts tie everywhere, so parity needs torch's very orders. The Python layer computes them with torch
// on the same arrays eplb.py sorts, between the steps below; everything else (the packing, the replication,
// the placement, float32 arithmetic, first index on ties) is done here.
//
// Pack loads: eplb.py adds torch float32 scalars (float32 sums); SGLang's copy of it
// (sglang.srt.eplb.eplb_algorithms.deepseek) adds Python floats from .tolist() (float64 sums). Both are
// offered; float32 is DeepSeek's.
#include <algorithm>
#include <numeric>
#include <string>

#include "common/arrays.h"
#include "common/common.h"
#include "common/thread_pool.h"
#include "eplb/eplb.h"

namespace ff::eplb {

namespace {

// eplb.py's balanced_packing for one row of n items into m packs of n / m: items in the given order, each
// into the lightest pack with room (the first such pack on ties). Acc is the type pack loads are summed in.
template <class Acc>
void pack_in_order(const float* w, const int64_t* order, int n, int m, int64_t* pack, int64_t* rank) {
  if (n == m) {  // one item per pack: eplb.py skips the sort
    for (int i = 0; i < n; ++i) pack[i] = i, rank[i] = 0;
    return;
  }
  const int per = n / m;
  std::vector<Acc> load(m, Acc(0));
  std::vector<int> items(m, 0);
  for (int k = 0; k < n; ++k) {
    const int it = (int)order[k];
    int best = -1;
    for (int p = 0; p < m; ++p)
      if (items[p] < per && (best < 0 || load[p] < load[best])) best = p;
    pack[it] = best;
    rank[it] = items[best]++;
    load[best] = (Acc)(load[best] + (Acc)w[it]);
  }
}

void pack_row(const float* w, const int64_t* order, int n, int m, bool f64, int64_t* pack, int64_t* rank) {
  if (f64) pack_in_order<double>(w, order, n, m, pack, rank);
  else pack_in_order<float>(w, order, n, m, pack, rank);
}

}  // namespace

void replicate_row(const float* w, int n, int slots, int64_t* phy2log, int64_t* rank, int64_t* cnt) {
  for (int i = 0; i < n; ++i) phy2log[i] = i, rank[i] = 0, cnt[i] = 1;
  for (int i = n; i < slots; ++i) {
    int best = 0;
    float bv = w[0] / (float)cnt[0];
    for (int e = 1; e < n; ++e) {
      const float v = w[e] / (float)cnt[e];
      if (v > bv) bv = v, best = e;
    }
    phy2log[i] = best;
    rank[i] = cnt[best]++;
  }
}

// Steps 1-2 of one layer: groups onto nodes (packing the group loads gsum in the order gorder), then
// replicas within each node.
void replicate_layer(const float* w, const float* gsum, const int64_t* gorder, const DsShape& d, bool f64,
                     LayerReplicas& out) {
  const int E = d.E, G = d.G, gs = d.gs(), gpn = d.gpn(), N = d.N, En = d.En(), Rn = d.Rn();
  std::vector<int64_t> gpack(G), grank(G);
  pack_row(gsum, gorder, G, N, f64, gpack.data(), grank.data());
  out.mlog2log.assign(E, 0);
  for (int g = 0; g < G; ++g) {
    const int64_t base = (gpack[g] * gpn + grank[g]) * gs;
    for (int j = 0; j < gs; ++j) out.mlog2log[base + j] = (int64_t)g * gs + j;
  }
  out.phy2mlog.assign((size_t)N * Rn, 0), out.rank.assign((size_t)N * Rn, 0), out.cnt.assign((size_t)N * En, 0);
  out.per_replica.assign((size_t)N * Rn, 0.f);
  std::vector<float> wn(En);
  for (int n = 0; n < N; ++n) {
    for (int i = 0; i < En; ++i) wn[i] = w[out.mlog2log[(size_t)n * En + i]];
    int64_t *p2m = &out.phy2mlog[(size_t)n * Rn], *cnt = &out.cnt[(size_t)n * En];
    replicate_row(wn.data(), En, Rn, p2m, &out.rank[(size_t)n * Rn], cnt);
    for (int i = 0; i < Rn; ++i) out.per_replica[(size_t)n * Rn + i] = wn[p2m[i]] / (float)cnt[p2m[i]];
  }
}

// Step 3 of one layer: each node's replicas onto its GPUs (packing per_replica in the orders porder [N, Rn]).
// Writes phy2log [R], the replica rank of each slot [R] and logcnt [E].
void place_layer(const LayerReplicas& r, const int64_t* porder, const DsShape& d, bool f64, int64_t* phy2log,
                 int64_t* phyrank, int64_t* logcnt) {
  const int N = d.N, En = d.En(), Rn = d.Rn(), per = d.per();
  std::vector<int64_t> pk(Rn), rk(Rn);
  for (int n = 0; n < N; ++n) {
    pack_row(&r.per_replica[(size_t)n * Rn], porder + (size_t)n * Rn, Rn, d.gpus_n(), f64, pk.data(), rk.data());
    for (int i = 0; i < Rn; ++i) {
      const int64_t slot = (int64_t)n * Rn + pk[i] * per + rk[i];
      phy2log[slot] = r.mlog2log[(size_t)n * En + r.phy2mlog[(size_t)n * Rn + i]];
      phyrank[slot] = r.rank[(size_t)n * Rn + i];
    }
    for (int i = 0; i < En; ++i) logcnt[r.mlog2log[(size_t)n * En + i]] = r.cnt[(size_t)n * En + i];
  }
}

namespace {

// Descending order with equal values lower index first.
void stable_desc(const float* v, int n, int64_t* order) {
  std::iota(order, order + n, 0);
  std::stable_sort(order, order + n, [&](int64_t a, int64_t b) { return v[a] > v[b]; });
}

}  // namespace

void deepseek_layer(const float* w, const Shape& s, int64_t* phy2log, int64_t* logcnt) {
  const DsShape d = effective(s);
  std::vector<float> gsum(d.G, 0.f);
  for (int g = 0; g < d.G; ++g)
    for (int j = 0; j < d.gs(); ++j) gsum[g] += w[g * d.gs() + j];
  std::vector<int64_t> gorder(d.G), porder((size_t)d.N * d.Rn()), rank(d.R);
  stable_desc(gsum.data(), d.G, gorder.data());
  LayerReplicas r;
  replicate_layer(w, gsum.data(), gorder.data(), d, false, r);
  for (int n = 0; n < d.N; ++n)
    stable_desc(&r.per_replica[(size_t)n * d.Rn()], d.Rn(), &porder[(size_t)n * d.Rn()]);
  place_layer(r, porder.data(), d, false, phy2log, rank.data(), logcnt);
}

}  // namespace ff::eplb
