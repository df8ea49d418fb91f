// fireflyer._core: the entry point only registers the error translator and delegates to each domain.
#include "common/common.h"

void register_intervals(nb::module_ m);
void register_detection(nb::module_ m);
void register_eplb(nb::module_ m);
void register_pipeline(nb::module_ m);
void register_fs3(nb::module_ m);
void register_fs3_bench(nb::module_ m);
void register_trace(nb::module_ m);

NB_MODULE(_core, m) {
  m.doc() = "fireflyer's compiled core: machine probes, EPLB solvers, pipeline schedules, interval algebra, "
            "trace figures, 3FS chain placement, file-system benchmarks";
#if FLYER_PORTABLE_BUILD
  m.attr("portable_build") = true;
#else
  m.attr("portable_build") = false;
#endif
  ff::register_errors(m);
  register_intervals(m.def_submodule("intervals", "Interval algebra on [start, end) spans"));
  register_detection(m.def_submodule("detection", "Machine probes for flyer profiles detect: bandwidth and FLOP rate"));
  register_eplb(m.def_submodule("eplb", "Expert-parallel load-balancing solvers"));
  register_pipeline(m.def_submodule("pipeline", "Pipeline-parallel schedule generation and simulation"));
  register_fs3(m.def_submodule("fs3", "3FS chain placement: balanced node-to-chain incidence"));
  register_trace(m.def_submodule("trace", "Streaming trace reader and the figures of trace files"));
  register_fs3_bench(m.def_submodule("fs3_bench", "File-system benchmark loops: the I/O engine, the metadata workload"));
}
