// fireflyer._core: the entry point only registers the error translator and delegates to each domain.
// NOTE: one rule for names: csrc/<path>/ is the _core submodule <path> with dots and the Python package
// fireflyer/<path>/ (csrc/fs3/bench -> _core.fs3.bench -> fireflyer.fs3.bench); each has api.h/api.cpp.
#include "common/common.h"
#include "eplb/api.h"
#include "fs3/api.h"
#include "fs3/bench/api.h"
#include "intervals/api.h"
#include "pipeline/api.h"
#include "profiles/api.h"
#include "trace/api.h"

NB_MODULE(_core, m) {
  m.doc() = "fireflyer's compiled core: machine probes, EPLB solvers, pipeline schedules, interval algebra, "
            "trace figures, 3FS chain placement, file-system benchmarks";
#if FLYER_PORTABLE_BUILD
  m.attr("portable_build") = true;
#else
  m.attr("portable_build") = false;
#endif
  ff::register_errors(m);
  nb::module_ fs3 = m.def_submodule("fs3", "3FS chain placement: balanced node-to-chain incidence");
  ff::intervals::register_api(m.def_submodule("intervals", "Interval algebra on [start, end) spans"));
  ff::profiles::register_api(
      m.def_submodule("profiles", "Machine probes for flyer profiles detect: bandwidth and FLOP rate"));
  ff::eplb::register_api(m.def_submodule("eplb", "Expert-parallel load-balancing solvers"));
  ff::pipeline::register_api(m.def_submodule("pipeline", "Pipeline-parallel schedule generation and simulation"));
  ff::fs3::register_api(fs3);
  ff::fs3::bench::register_api(
      fs3.def_submodule("bench", "File-system benchmark loops: the I/O engine, the metadata workload"));
  ff::trace::register_api(m.def_submodule("trace", "Streaming trace reader and the figures of trace files"));
}
