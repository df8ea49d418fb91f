// Python bindings of the trace core (fireflyer._core.trace): figures of many files on several threads,
// and a reader handing over raw events in batches (for merging).
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <exception>

#include "common/common.h"
#include "common/thread_pool.h"
#include "trace/analysis.h"

namespace ff::trace {
namespace {

nb::list str_list(const std::vector<std::string_view>& names) {
  nb::list out;
  for (std::string_view s : names) out.append(nb::str(s.data(), s.size()));
  return out;
}

std::vector<uint8_t> flags(nb::handle obj, size_t n, const char* what) {
  nb::bytes b = nb::cast<nb::bytes>(obj);
  FF_CHECK(b.size() == n, what << ": expected " << n << " flags, got " << b.size());
  const auto* p = static_cast<const uint8_t*>(b.data());
  return std::vector<uint8_t>(p, p + n);
}

std::vector<TraceFigures> analyze_files(const std::vector<std::string>& paths, nb::object classify, int top,
                                        bool cpu, int threads) {
  std::vector<TraceFigures> out(paths.size());
  std::vector<std::exception_ptr> errors(paths.size());
  // Threads beyond one per file read the files' parts (a single large trace: all of them).
  const int total = threads > 0 ? threads : threads_available();
  const int parts = std::max(1, total / std::max<int>(1, static_cast<int>(paths.size())));
  {
    nb::gil_scoped_release release;
    parallel_for(
        static_cast<int>(paths.size()),
        [&](int i) {
          try {
            Collector c;
            bool gzip = false;
            uint64_t file_bytes = 0;
            int used = parts;
            Header h = collect(paths[i], c, &gzip, &file_bytes, &used);
            std::vector<uint8_t> kernel_comm, op_comm;
            {
              nb::gil_scoped_acquire acquire;
              nb::object res = classify(str_list(c.kernel_names.names()), str_list(c.op_names.names()));
              nb::tuple pair = nb::cast<nb::tuple>(res);
              kernel_comm = flags(pair[0], c.kernel_names.names().size(), "classify: kernel flags");
              op_comm = flags(pair[1], c.op_names.names().size(), "classify: operator flags");
            }
            TraceFigures f = figures(c, kernel_comm, op_comm, top, cpu);
            f.file = paths[i];
            f.header = h;
            f.gzip = gzip;
            f.file_bytes = file_bytes;
            f.parts = used;
            out[i] = std::move(f);
          } catch (const InputError& e) {
            errors[i] = std::make_exception_ptr(InputError(e.what(), e.field(), paths[i]));
          } catch (...) {
            errors[i] = std::current_exception();
          }
        },
        threads, 1);
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

// Scans a whole file (checking it) for its top-level facts, keeping nothing of its events.
Header read_header(const std::string& path) {
  try {
    ByteSource src(path);
    Scanner scanner(src);
    Event ev;
    while (scanner.next(ev)) {
    }
    return scanner.header();
  } catch (const InputError& e) {
    throw InputError(e.what(), e.field(), path);
  }
}

// Raw event texts of one file, a batch at a time, as a JSON array ("[e1,e2,...]"), for merging.
class EventReader {
 public:
  explicit EventReader(const std::string& path) : path_(path), src_(path), scanner_(src_) {}

  // The next batch of about max_bytes of event text, or an empty string at the end.
  std::string batch(size_t max_bytes) {
    std::string out;
    try {
      Event ev;
      while (out.size() < max_bytes && scanner_.next(ev)) {
        out.push_back(out.empty() ? '[' : ',');
        out.append(ev.text);
      }
    } catch (const InputError& e) {
      throw InputError(e.what(), e.field(), path_);
    }
    if (!out.empty()) out.push_back(']');
    return out;
  }
  const Header& header() const { return scanner_.header(); }

 private:
  std::string path_;
  ByteSource src_;
  Scanner scanner_;
};

}  // namespace
}  // namespace ff::trace

void register_trace(nb::module_ m) {
  using namespace ff::trace;
  nb::class_<Header>(m, "Header", "Top-level facts of a trace file.")
      .def_ro("has_rank", &Header::has_rank)
      .def_ro("rank", &Header::rank, "distributedInfo.rank")
      .def_ro("has_world_size", &Header::has_world_size)
      .def_ro("world_size", &Header::world_size, "distributedInfo.world_size")
      .def_ro("has_base_time", &Header::has_base_time)
      .def_ro("base_time_ns", &Header::base_time_ns, "baseTimeNanoseconds: ts are relative to it")
      .def_ro("bare_array", &Header::bare_array, "the document is an array of events")
      .def_ro("events", &Header::events)
      .def_ro("events_end", &Header::events_end, "offset of the ']' closing traceEvents")
      .def_ro("bytes", &Header::bytes, "bytes of JSON text (after decompression)");
  nb::class_<StreamFigures>(m, "StreamFigures", "Kernel time on one stream.")
      .def_ro("stream", &StreamFigures::stream)
      .def_ro("kernels", &StreamFigures::kernels, "kernels, copies and sets")
      .def_ro("busy_us", &StreamFigures::busy_us)
      .def_ro("compute_us", &StreamFigures::compute_us)
      .def_ro("comm_us", &StreamFigures::comm_us)
      .def_ro("memory_us", &StreamFigures::memory_us);
  nb::class_<KernelTotal>(m, "KernelTotal", "Total time of one kernel (or copy or set) name.")
      .def_ro("name", &KernelTotal::name)
      .def_ro("kind", &KernelTotal::kind, "0 compute, 1 communication, 2 memory")
      .def_ro("count", &KernelTotal::count)
      .def_ro("total_us", &KernelTotal::total_us, "sum of durations")
      .def_ro("max_us", &KernelTotal::max_us);
  nb::class_<DeviceFigures>(m, "DeviceFigures", "Unions of kernel time on one device.")
      .def_ro("device", &DeviceFigures::device)
      .def_ro("kernels", &DeviceFigures::kernels)
      .def_ro("comm_kernels", &DeviceFigures::comm_kernels)
      .def_ro("memory_ops", &DeviceFigures::memory_ops)
      .def_ro("start_us", &DeviceFigures::start_us)
      .def_ro("end_us", &DeviceFigures::end_us)
      .def_ro("span_us", &DeviceFigures::span_us)
      .def_ro("busy_us", &DeviceFigures::busy_us)
      .def_ro("compute_us", &DeviceFigures::compute_us)
      .def_ro("comm_us", &DeviceFigures::comm_us)
      .def_ro("memory_us", &DeviceFigures::memory_us)
      .def_ro("overlap_us", &DeviceFigures::overlap_us)
      .def_ro("streams", &DeviceFigures::streams)
      .def_ro("top_kernels", &DeviceFigures::top_kernels);
  nb::class_<ThreadFigures>(m, "ThreadFigures", "CPU operator time on one thread.")
      .def_ro("pid", &ThreadFigures::pid)
      .def_ro("tid", &ThreadFigures::tid)
      .def_ro("ops", &ThreadFigures::ops)
      .def_ro("busy_us", &ThreadFigures::busy_us)
      .def_ro("comm_us", &ThreadFigures::comm_us);
  nb::class_<OpTotal>(m, "OpTotal", "Total and self time of one CPU operator name.")
      .def_ro("name", &OpTotal::name)
      .def_ro("comm", &OpTotal::comm)
      .def_ro("count", &OpTotal::count)
      .def_ro("total_us", &OpTotal::total_us, "inclusive of the operators it calls")
      .def_ro("self_us", &OpTotal::self_us, "exclusive of the operators it calls");
  nb::class_<CpuFigures>(m, "CpuFigures", "CPU-side figures (computed on request or when no device has kernels).")
      .def_ro("computed", &CpuFigures::computed)
      .def_ro("ops", &CpuFigures::ops)
      .def_ro("start_us", &CpuFigures::start_us)
      .def_ro("end_us", &CpuFigures::end_us)
      .def_ro("span_us", &CpuFigures::span_us)
      .def_ro("busy_us", &CpuFigures::busy_us)
      .def_ro("comm_us", &CpuFigures::comm_us)
      .def_ro("compute_us", &CpuFigures::compute_us,
              "union over threads of each thread's busy time outside its communication ranges")
      .def_ro("threads", &CpuFigures::threads)
      .def_ro("top_ops", &CpuFigures::top_ops);
  nb::class_<TraceFigures>(m, "TraceFigures", "Figures of one trace file; times in microseconds.")
      .def_ro("file", &TraceFigures::file)
      .def_ro("header", &TraceFigures::header)
      .def_ro("gzip", &TraceFigures::gzip)
      .def_ro("file_bytes", &TraceFigures::file_bytes)
      .def_ro("parts", &TraceFigures::parts, "byte ranges the file was read in at once")
      .def_ro("origin_us", &TraceFigures::origin_us,
              "integer part of the first timestamp (file units); other times are relative to it")
      .def_ro("start_us", &TraceFigures::start_us)
      .def_ro("end_us", &TraceFigures::end_us)
      .def_ro("steps", &TraceFigures::steps, "ProfilerStep#N annotations")
      .def_ro("first_step_us", &TraceFigures::first_step_us)
      .def_ro("devices", &TraceFigures::devices)
      .def_ro("cpu", &TraceFigures::cpu);
  m.def("analyze_files", &analyze_files, nb::arg("paths"), nb::arg("classify"), nb::arg("top") = 10,
        nb::arg("cpu") = false, nb::arg("threads") = 0,
        "Figures of each trace file (plain or gzip), on up to `threads` threads (0: all available). "
        "classify(kernel_names, op_names) returns two bytes objects flagging communication names. "
        "top: kernels and operators kept per device (0: all). cpu: CPU figures even where devices have kernels.");
  m.def("read_header", &read_header, nb::arg("path"), nb::call_guard<nb::gil_scoped_release>(),
        "Check a whole trace file and return its top-level facts (rank, base time, where traceEvents ends).");
  nb::class_<EventReader>(m, "EventReader", "Raw event texts of a trace file, a batch at a time.")
      .def(nb::init<const std::string&>(), nb::arg("path"))
      .def(
          "batch",
          [](EventReader& r, size_t max_bytes) {
            std::string s;
            {
              nb::gil_scoped_release release;
              s = r.batch(max_bytes);
            }
            return nb::bytes(s.data(), s.size());
          },
          nb::arg("max_bytes") = size_t(4) << 20, "The next events as a JSON array; b'' at the end.")
      .def_prop_ro("header", &EventReader::header, nb::rv_policy::copy);
}
