// Python bindings of the EPLB solvers (fireflyer._core.eplb): the problems' checks, the plans as numpy arrays, and
// DeepSeek's policy in steps (the sort orders come from torch in the Python layer).
#include "eplb/api.h"

#include <algorithm>
#include <cmath>

#include "common/arrays.h"
#include "common/memory.h"
#include "common/thread_pool.h"
#include "eplb/eplb.h"

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
  // NOTE: the field is "slots", the name flyer uses for physical expert slots (DeepSeek's num_replicas).
  FF_CHECK_FIELD(replicas >= (int64_t)experts, "slots",
                 replicas << " slots are fewer than the " << experts << " experts; every expert needs a slot");
  FF_CHECK_FIELD(replicas % gpus == 0, "slots", replicas << " slots are not a multiple of " << gpus << " GPUs");
  FF_CHECK_FIELD(gpus % nodes == 0, "gpus", gpus << " GPUs is not a multiple of " << nodes << " nodes");
  FF_CHECK_FIELD(replicas <= INT32_MAX && experts <= INT32_MAX && layers <= INT32_MAX, "slots",
                 "too large: " << replicas << " slots");
  // NOTE: the plan's three int64 arrays (log2phy up to replicas wide) and the solvers' scratch.
  check_fits(8.0 * layers * (2.0 * replicas + 2.0 * experts + (double)replicas - experts + 1) + 64.0 * replicas,
             "a plan of this size", "slots");
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

namespace {

// Every layer of plan [L, R] names experts in 0..E-1 and places each of them.
void check_plan(const int64_t* p, int L, int R, int E, const char* field, const char* what) {
  for (size_t i = 0; i < (size_t)L * R; ++i)
    FF_CHECK_FIELD(p[i] >= 0 && p[i] < E, field, what << " names expert " << p[i] << ", load has " << E << " experts");
  for (int l = 0; l < L; ++l) {
    std::vector<char> seen(E, 0);
    int n = 0;
    for (int q = 0; q < R; ++q) n += !seen[p[(size_t)l * R + q]], seen[p[(size_t)l * R + q]] = 1;
    FF_CHECK_FIELD(n == E, field,
                   "layer " << l << " does not place every one of the " << E << " experts (" << n << " placed)");
  }
}

// A layer's steps take microseconds: threads pay for their start only from several hundred layers on.
constexpr int kLayersPerThread = 256;

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

void register_api(nb::module_ m) {
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
        check_plan(p, L, R, E, "physical_to_logical_map", "plan");
        Shape s{E, R, 1, 1, (int)num_gpus};
        std::vector<double> out(L);
        for (int l = 0; l < L; ++l) out[l] = imbalance(weight.data() + (size_t)l * E, p + (size_t)l * R, s);
        return to_numpy(std::move(out));
      },
      nb::arg("weight"), nb::arg("phy2log"), nb::arg("num_gpus"), "Max over mean GPU load of each layer.");
  m.def(
      "migrate",
      [](In2<float> weight, In2<int64_t> previous, int64_t num_groups, int64_t num_nodes, int64_t num_gpus,
         bool hierarchical, double tolerance, int64_t max_copies) {
        const int L = (int)weight.shape(0), E = (int)weight.shape(1), R = (int)previous.shape(1);
        FF_CHECK_FIELD((int)previous.shape(0) == L, "previous",
                       "previous plan has " << previous.shape(0) << " layers, load has " << L);
        FF_CHECK_FIELD(tolerance >= 0 && std::isfinite(tolerance), "tolerance",
                       "must be a finite non-negative fraction, got " << tolerance);
        Shape s = check_shape(weight.data(), weight.shape(0), weight.shape(1), R, num_groups, num_nodes, num_gpus);
        check_hierarchical(s, hierarchical);
        const int64_t* pv = previous.data();
        check_plan(pv, L, R, E, "previous", "previous plan");
        const long long budget = max_copies < 0 ? INT64_MAX : max_copies;
        std::vector<int64_t> p2l;
        {
          nb::gil_scoped_release nogil;
          p2l = migrate_plans(weight.data(), pv, L, s, hierarchical, tolerance, budget);
        }
        return finish_plan(p2l, L, E, R);
      },
      nb::arg("weight"), nb::arg("previous"), nb::arg("num_groups"), nb::arg("num_nodes"), nb::arg("num_gpus"),
      nb::arg("hierarchical") = false, nb::arg("tolerance") = 0.01, nb::arg("max_copies") = -1,
      "Plan from a previous plan [L,R]: as few new (GPU, expert) copies as possible with the plan's max/mean (mean\n"
      "over layers) within tolerance of fresh plans' (and at most max_copies copies, where >= 0).");
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

}  // namespace ff::eplb
