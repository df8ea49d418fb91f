// Bindings of flyer fs3 bench's compiled loops (fireflyer._core.fs3.bench).
#include "fs3/bench/api.h"

#include "fs3/bench/bench.h"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace ff::fs3::bench {

void register_api(nb::module_ m) {
  nb::class_<IoRun>(m, "IoRun", "The timed phase of one I/O run, all jobs together.")
      .def_ro("bytes", &IoRun::bytes, "bytes moved in the timed phase")
      .def_ro("ops", &IoRun::ops, "I/Os completed")
      .def_ro("seconds", &IoRun::seconds, "first submission to last completion (and the final fsync of writes)")
      .def_prop_ro(
          "latency_s", [](const IoRun& r) { return r.latency_s; }, nb::rv_policy::automatic,
          "per-I/O seconds from submission to completion (sampled past 4M)")
      .def_ro("file_bytes", &IoRun::file_bytes, "bytes of each job's file");
  nb::class_<MetaPhase>(m, "MetaPhase", "One phase of the metadata workload.")
      .def_ro("name", &MetaPhase::name, "create, stat, rename or delete")
      .def_ro("ops", &MetaPhase::ops)
      .def_ro("seconds", &MetaPhase::seconds, "all jobs start the phase together; until the last finishes")
      .def_prop_ro(
          "latency_s", [](const MetaPhase& p) { return p.latency_s; }, nb::rv_policy::automatic,
          "per-operation seconds (sampled past 4M)");
  nb::class_<RecordSummary>(m, "RecordSummary", "What one pass over a batch of GraySort records found.")
      .def_ro("rows", &RecordSummary::rows)
      .def_ro("disorder", &RecordSummary::disorder, "keys smaller than the key before them")
      .def_ro("checksum", &RecordSummary::checksum, "sum (mod 2**64) of the records' 64-bit hashes");
  m.def("summarize_records", &summarize_records, nb::arg("keys").noconvert(), nb::arg("values").noconvert(),
        nb::arg("seen").noconvert().none() = nb::none(),
        "One pass over GraySort records: disorder, checksum, and seen[index] += 1 for each record's index.");
  m.def(
      "check_io",
      [](int64_t size, int64_t block, int64_t jobs, int64_t iodepth, bool direct, double runtime) {
        return check_io(IoSpec{size, block, jobs, iodepth, direct, runtime});
      },
      nb::arg("size"), nb::arg("block"), nb::arg("jobs"), nb::arg("iodepth"), nb::arg("direct"),
      nb::arg("runtime") = 0.0,
      "Bytes of each job's file (size / jobs in whole blocks); InputError naming the field when the job cannot "
      "run.");
  m.def(
      "run_io",
      [](const std::string& dir, int64_t size, int64_t block, int64_t jobs, int64_t iodepth, bool direct,
         double runtime, bool write, bool random, uint64_t seed, nb::object progress) {
        return run_io(dir, IoSpec{size, block, jobs, iodepth, direct, runtime}, write, random, seed, progress);
      },
      nb::arg("dir"), nb::arg("size"), nb::arg("block"), nb::arg("jobs"), nb::arg("iodepth"), nb::arg("direct"),
      nb::arg("runtime"), nb::arg("write"), nb::arg("random"), nb::arg("seed") = 0,
      nb::arg("progress").none() = nb::none(),
      "Run one I/O job (one file per job under dir, Linux native AIO). progress(stage, done, total) is called "
      "about ten times a second, stage 'layout' or 'run'; Ctrl-C stops the run and raises KeyboardInterrupt.");
  m.def("direct_supported", &direct_supported, nb::arg("dir"),
        "Whether files under dir accept O_DIRECT (an aligned 4 KiB write to a probe file, then removed).");
  m.def("run_metadata", &run_metadata, nb::arg("root"), nb::arg("files"), nb::arg("dirs"), nb::arg("jobs"),
        nb::arg("file_bytes") = 0, nb::arg("progress").none() = nb::none(),
        "create, stat, rename and delete of `files` files in `dirs` directories under root on `jobs` threads; "
        "progress(stage, done, total) about ten times a second.");
}

}  // namespace ff::fs3::bench
