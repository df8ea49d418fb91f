// Python bindings of the interval algebra (fireflyer._core.intervals): spans as (starts, ends) arrays.
#include "intervals/api.h"

#include "common/intervals.h"

#include <nanobind/stl/pair.h>

#include <cmath>

#include "common/arrays.h"
#include "common/common.h"

namespace ff::intervals {
namespace {

using Pair = std::pair<Out<double>, Out<double>>;

std::vector<Span> read(In1<double> lo, In1<double> hi, const char* name) {
  FF_CHECK(lo.shape(0) == hi.shape(0), name << ": starts and ends differ in length (" << lo.shape(0) << " and "
                                            << hi.shape(0) << ")");
  std::vector<Span> v(lo.shape(0));
  for (size_t i = 0; i < v.size(); ++i) {
    FF_CHECK(std::isfinite(lo(i)) && std::isfinite(hi(i)), name << ": span " << i << " is not finite");
    v[i] = {lo(i), hi(i)};
  }
  return v;
}

std::vector<Span> read_disjoint(In1<double> lo, In1<double> hi, const char* name) {
  std::vector<Span> v = read(lo, hi, name);
  for (size_t i = 0; i < v.size(); ++i) {
    FF_CHECK(v[i].hi >= v[i].lo, name << ": span " << i << " ends before it starts");
    FF_CHECK(i == 0 || v[i].lo >= v[i - 1].hi, name << ": spans must be disjoint and sorted (span " << i << ")");
  }
  return v;
}

Pair split(const std::vector<Span>& v) {
  std::vector<double> lo(v.size()), hi(v.size());
  for (size_t i = 0; i < v.size(); ++i) lo[i] = v[i].lo, hi[i] = v[i].hi;
  return {to_numpy(std::move(lo)), to_numpy(std::move(hi))};
}

}  // namespace

void register_api(nb::module_ m) {
  using namespace ff;
  using namespace ff::intervals;
  m.def("union", [](In1<double> lo, In1<double> hi) { return split(union_of(read(lo, hi, "union"))); },
        nb::arg("starts"), nb::arg("ends"),
        "Union of spans [start, end) in any order: disjoint sorted (starts, ends). Touching spans merge, "
        "empty ones drop.");
  m.def("length", [](In1<double> lo, In1<double> hi) { return total_length(read_disjoint(lo, hi, "length")); },
        nb::arg("starts"), nb::arg("ends"), "Total length of disjoint sorted spans.");
  m.def("intersect",
        [](In1<double> alo, In1<double> ahi, In1<double> blo, In1<double> bhi) {
          return split(intersect(read_disjoint(alo, ahi, "a"), read_disjoint(blo, bhi, "b")));
        },
        nb::arg("a_starts"), nb::arg("a_ends"), nb::arg("b_starts"), nb::arg("b_ends"),
        "a ∩ b of two disjoint sorted span lists.");
  m.def("subtract",
        [](In1<double> alo, In1<double> ahi, In1<double> blo, In1<double> bhi) {
          return split(subtract(read_disjoint(alo, ahi, "a"), read_disjoint(blo, bhi, "b")));
        },
        nb::arg("a_starts"), nb::arg("a_ends"), nb::arg("b_starts"), nb::arg("b_ends"),
        "a minus b of two disjoint sorted span lists.");
}

}  // namespace ff::intervals
