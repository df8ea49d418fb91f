// Python bindings of 3FS chain placement (fireflyer._core.fs3).
#include "fs3/api.h"

#include <nanobind/stl/string.h>

#include "fs3/placement.h"

namespace ff::fs3 {

void register_api(nb::module_ m) {
  nb::class_<Placement>(m, "Placement", "Storage nodes of every chain, and how balanced the pair counts are.")
      .def_prop_ro("blocks", [](const Placement& p) { return p.blocks; }, nb::rv_policy::reference, "int32 [chains, replication]: node indices, sorted in each chain")
      .def_ro("lo", &Placement::lo, "the pair count every pair should have at least (floor of the mean)")
      .def_ro("hi", &Placement::hi, "the pair count no pair should exceed (ceiling of the mean)")
      .def_ro("excess", &Placement::excess, "pair-count units outside [lo, hi]; 0 when balanced")
      .def_ro("moved", &Placement::moved, "extend: memberships of existing chains given to other nodes")
      .def_ro("steps", &Placement::steps, "search steps taken")
      .def_ro("restarts", &Placement::restarts, "hill-climb restarts (each with a new graph of hi pairs)")
      .def_ro("method", &Placement::method,
              "construction (k = 2), cyclic construction, [cyclic construction + ]packing search, hill-climb or "
              "swap-search");
  m.def("place", &place, nb::arg("nodes"), nb::arg("replication"), nb::arg("targets_per_disk"),
        nb::arg("seed") = 0, nb::arg("max_steps") = 0, nb::arg("construct") = true,
        "A placement of chains on `nodes` storage nodes, each node in `targets_per_disk` chains, with pair counts "
        "as even as the search finds (deterministic for a seed; max_steps 0: automatic; construct False: no "
        "packing construction, the hill-climb and swap search alone, as before issue 26).");
  m.def("extend", &extend, nb::arg("existing"), nb::arg("nodes"), nb::arg("targets_per_disk"), nb::arg("seed") = 0,
        nb::arg("max_steps") = 0,
        "Extend an existing placement (int32 [chains, replication]) to `nodes` nodes: its chains keep their "
        "numbers and as many of their members as balance allows; new chains follow.");
}

}  // namespace ff::fs3
