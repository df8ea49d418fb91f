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

// A layer's steps take microseconds: threads pay for their start only from several hundred layers on.
constexpr int kLayersPerThread = 256;

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

DsShape effective(const Shape& s) {
  const bool hier = s.groups % s.nodes == 0;
  return DsShape{s.experts, s.replicas, hier ? s.groups : 1, hier ? s.nodes : 1, s.gpus};
}

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

namespace {

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

// Descending order with equal values lower index first.
void stable_desc(const float* v, int n, int64_t* order) {
  std::iota(order, order + n, 0);
  std::stable_sort(order, order + n, [&](int64_t a, int64_t b) { return v[a] > v[b]; });
}

void check_order(const int64_t* order, size_t rows, int n, const char* field) {
  std::vector<char> seen(n);
  for (size_t r = 0; r < rows; ++r) {
    std::fill(seen.begin(), seen.end(), 0);
    for (int i = 0; i < n; ++i) {
      const int64_t x = order[r * n + i];
      FF_CHECK_FIELD(x >= 0 && x < n && !seen[x], field, "row " << r << " is not a permutation of 0.." << n - 1);
      seen[x] = 1;
    }
  }
}

// The DeepSeek policy over all layers in three calls: the constructor checks the problem; replicate() takes the
// group loads and their order and returns the loads per replica; place() takes their order and returns the plan.
class DeepseekPlanner {
 public:
  DeepseekPlanner(In2<float> weight, int64_t replicas, int64_t groups, int64_t nodes, int64_t gpus, bool f64)
      : f64_(f64) {
    s_ = check_shape(weight.data(), weight.shape(0), weight.shape(1), replicas, groups, nodes, gpus);
    check_hierarchical(s_, false);
    d_ = effective(s_);
    L_ = (int)weight.shape(0);
    w_.assign(weight.data(), weight.data() + weight.size());
  }

  int groups() const { return d_.G; }
  int nodes() const { return d_.N; }

  Out<float> replicate(In2<float> group_loads, In2<int64_t> group_order) {
    FF_CHECK_FIELD((int)group_loads.shape(0) == L_ && (int)group_loads.shape(1) == d_.G, "group_loads",
                   "expected [" << L_ << ", " << d_.G << "], got [" << group_loads.shape(0) << ", "
                                << group_loads.shape(1) << "]");
    FF_CHECK_FIELD((int)group_order.shape(0) == L_ && (int)group_order.shape(1) == d_.G, "group_order",
                   "expected [" << L_ << ", " << d_.G << "]");
    check_order(group_order.data(), L_, d_.G, "group_order");
    layers_.assign(L_, {});
    {
      nb::gil_scoped_release nogil;
      const float* gl = group_loads.data();
      const int64_t* go = group_order.data();
      parallel_for(L_, [&](int l) {
        replicate_layer(&w_[(size_t)l * d_.E], gl + (size_t)l * d_.G, go + (size_t)l * d_.G, d_, f64_, layers_[l]);
      }, 0, kLayersPerThread);
    }
    const int Rn = d_.Rn();
    float* out;
    auto arr = new_array<float>({(size_t)L_ * d_.N, (size_t)Rn}, &out);
    for (int l = 0; l < L_; ++l) std::copy(layers_[l].per_replica.begin(), layers_[l].per_replica.end(),
                                           out + (size_t)l * d_.N * Rn);
    return arr;
  }

  nb::tuple place(In2<int64_t> replica_order) {
    FF_CHECK_FIELD((int)layers_.size() == L_, "replica_order", "call replicate() first");
    const int Rn = d_.Rn();
    FF_CHECK_FIELD(replica_order.shape(0) == (size_t)L_ * d_.N && (int)replica_order.shape(1) == Rn,
                   "replica_order", "expected [" << (size_t)L_ * d_.N << ", " << Rn << "]");
    check_order(replica_order.data(), (size_t)L_ * d_.N, Rn, "replica_order");
    const int E = d_.E, R = d_.R;
    std::vector<int64_t> p2l((size_t)L_ * R), rank((size_t)L_ * R), cnt((size_t)L_ * E);
    {
      nb::gil_scoped_release nogil;
      const int64_t* po = replica_order.data();
      parallel_for(L_, [&](int l) {
        place_layer(layers_[l], po + (size_t)l * d_.N * Rn, d_, f64_, &p2l[(size_t)l * R], &rank[(size_t)l * R],
                    &cnt[(size_t)l * E]);
      }, 0, kLayersPerThread);
    }
    return finish_plan(p2l, L_, E, R, &rank);
  }

 private:
  Shape s_{};
  DsShape d_{};
  int L_ = 0;
  bool f64_;
  std::vector<float> w_;
  std::vector<LayerReplicas> layers_;
};

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

void register_eplb_deepseek(nb::module_ m) {
  using namespace ff;
  using namespace ff::eplb;
  nb::class_<DeepseekPlanner>(m, "DeepseekPlanner",
                              "DeepSeek's EPLB in steps, with the sort orders of the items given by the caller.")
      .def_prop_ro("groups", &DeepseekPlanner::groups, "Expert groups the plan packs (1 under the global policy).")
      .def_prop_ro("nodes", &DeepseekPlanner::nodes, "Nodes the plan packs groups onto (1 under the global policy).")
      .def("replicate", &DeepseekPlanner::replicate, nb::arg("group_loads"), nb::arg("group_order"),
           "Groups onto nodes, replicas within nodes; returns the load of each replica [layers * nodes, slots per "
           "node].")
      .def("place", &DeepseekPlanner::place, nb::arg("replica_order"),
           "Replicas onto GPUs: (phy2log [L,R], log2phy [L,E,K] in replica order, logcnt [L,E]).");
  m.def(
      "deepseek_planner",
      [](In2<float> weight, int64_t num_replicas, int64_t num_groups, int64_t num_nodes, int64_t num_gpus,
         bool float64_sums) {
        return new DeepseekPlanner(weight, num_replicas, num_groups, num_nodes, num_gpus, float64_sums);
      },
      nb::arg("weight"), nb::arg("num_replicas"), nb::arg("num_groups"), nb::arg("num_nodes"), nb::arg("num_gpus"),
      nb::arg("float64_sums") = false, nb::rv_policy::take_ownership,
      "Checks a DeepSeek-policy problem (naming the argument at fault) and returns its planner.");
}
