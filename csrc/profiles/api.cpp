// Python bindings of the machine probes (fireflyer._core.profiles, for `flyer profiles detect`).
#include "profiles/api.h"

#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "profiles/detection.h"

namespace ff::profiles {

void register_api(nb::module_ m) {
  m.def("triad", &triad, nb::arg("a").noconvert(), nb::arg("b").noconvert(), nb::arg("c").noconvert(), nb::arg("scalar"), nb::arg("threads") = 1,
        nb::arg("reps") = 1,
        "a[:] = b + scalar * c over float64 arrays on `threads` threads; seconds of each pass.");
  m.def("stream_triad", &stream_triad, nb::arg("n"), nb::arg("threads"), nb::arg("reps"),
        "STREAM triad over three core-owned float64 arrays of n elements; seconds of each pass "
        "(each pass moves 24 * n bytes).");
  m.def("fma_peak", &fma_peak, nb::arg("iters"), nb::arg("threads"), nb::arg("reps"),
        "FMA-bound FP32 loop; (flops, seconds) of each pass.");
  m.def("isa", &isa, "The vector instruction set the core was compiled for.");
  m.attr("fma_flops_per_iter") = fma_flops_per_iter();
}

}  // namespace ff::profiles
