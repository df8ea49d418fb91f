// fireflyer._core: the entry point only delegates to each domain's register function.
#include "common.h"

void register_probe(nb::module_ m);
void register_eplb(nb::module_ m);
void register_pipeline(nb::module_ m);

NB_MODULE(_core, m) {
  m.doc() = "fireflyer's compiled core: machine probes, EPLB solvers, pipeline schedule simulator";
#if FLYER_PORTABLE_BUILD
  m.attr("portable_build") = true;
#else
  m.attr("portable_build") = false;
#endif
  register_probe(m.def_submodule("probe", "Machine probes: memory bandwidth and FLOP rate"));
  register_eplb(m.def_submodule("eplb", "Expert-parallel load-balancing solvers"));
  register_pipeline(m.def_submodule("pipeline", "Pipeline-parallel schedule generation and simulation"));
}
