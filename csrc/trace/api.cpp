// Python bindings of the trace core (fireflyer._core.trace): figures of many files on several threads (as
// dicts keyed by the fields of fireflyer.trace.analysis's Structs), and a reader handing over raw events in
// batches (for merging).
#include "trace/api.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <exception>
#include <type_traits>

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

// A record's fields() as a dict: figures as Python scalars, records and lists of them as dicts and lists.
struct Dict {
  nb::dict out;
  template <class T>
  static nb::object value(const T& v) {
    if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string> || std::is_same_v<T, const char*> ||
                  std::is_same_v<T, Header>) {
      return nb::cast(v);
    } else {
      Dict d;
      v.fields(d);
      return d.out;
    }
  }
  template <class T>
  static nb::object value(const std::vector<T>& v) {
    nb::list l;
    for (const T& x : v) l.append(value(x));
    return l;
  }
  template <class T>
  void operator()(const char* key, const T& v) {
    out[key] = value(v);
  }
  // As Python's int(text) where that succeeds (a numeric pid, tid or stream), else the text.
  void id(const char* key, const std::string& text) {
    nb::str s(text.data(), text.size());
    PyObject* n = PyNumber_Long(s.ptr());
    if (n) {
      out[key] = nb::steal(n);
    } else {
      PyErr_Clear();
      out[key] = s;
    }
  }
};

nb::dict to_dict(const TraceFigures& f) {
  nb::dict out = nb::cast<nb::dict>(Dict::value(f));
  if (!f.cpu.computed) out["cpu"] = nb::none();
  nb::object file = out["file"], steps = out["steps"], cpu = out["cpu"];
  for (nb::handle h : nb::cast<nb::list>(out["devices"])) {
    nb::dict d = nb::borrow<nb::dict>(h);
    d["file"] = file;
    d["steps"] = steps;
    d["cpu"] = cpu;
  }
  return out;
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

void register_api(nb::module_ m) {
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
  m.def(
      "analyze_files",
      [](const std::vector<std::string>& paths, nb::object classify, int top, bool cpu, int threads) {
        nb::list out;
        for (const TraceFigures& f : analyze_files(paths, classify, top, cpu, threads)) out.append(to_dict(f));
        return out;
      },
      nb::arg("paths"), nb::arg("classify"), nb::arg("top") = 10, nb::arg("cpu") = false, nb::arg("threads") = 0,
      "Figures of each trace file (plain or gzip), a dict each (the fields of fireflyer.trace.analysis.TraceFigures), "
      "on up to `threads` threads (0: all available). "
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

}  // namespace ff::trace
