// Figures of one trace file: per device, the unions of kernel time (busy, compute, communication,
// memory) and their overlap, per stream, the top kernels; on the CPU, busy and communication time per
// thread and the top operators. Times are microseconds, relative to the file's first timestamp.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "trace/scanner.h"

namespace ff::trace {

enum Kind : uint8_t { kCompute = 0, kComm = 1, kMemory = 2 };
inline const char* const kKindNames[] = {"compute", "comm", "memory"};

// The records below reach Python through their fields(f) (api.cpp makes a dict of each, which
// fireflyer.trace.analysis converts into the msgspec Struct of the same name): f(key, value) for a figure,
// f.id(key, text) for a device, stream, pid or tid (an int in Python where it reads as one). Members fields()
// leaves out are the core's own working values. Figures derived from these (means, shares) are computed once,
// in the Structs.

struct Stream {
  std::string stream;
  int64_t kernels = 0;  // kernels, copies and sets on this stream
  double busy_us = 0, compute_us = 0, comm_us = 0, memory_us = 0;
  template <class F>
  void fields(F& f) const {
    f.id("stream", stream), f("kernels", kernels), f("busy_us", busy_us), f("compute_us", compute_us);
    f("comm_us", comm_us), f("memory_us", memory_us);
  }
};

struct Kernel {
  std::string name;
  uint8_t kind = kCompute;
  int64_t count = 0;
  double total_us = 0, max_us = 0;
  template <class F>
  void fields(F& f) const {
    f("name", name), f("kind", kKindNames[kind]), f("count", count), f("total_us", total_us), f("max_us", max_us);
  }
};

// The kernel figures of one device (one rank's device, in Python).
struct RankFigures {
  std::string device;
  int64_t kernels = 0, comm_kernels = 0, memory_ops = 0;
  double start_us = 0, end_us = 0;
  double span_us = 0, busy_us = 0, compute_us = 0, comm_us = 0, memory_us = 0, overlap_us = 0;
  std::vector<Stream> streams;
  std::vector<Kernel> top_kernels;
  template <class F>
  void fields(F& f) const {
    f.id("device", device), f("kernels", kernels), f("comm_kernels", comm_kernels), f("memory_ops", memory_ops);
    f("span_us", span_us), f("busy_us", busy_us), f("compute_us", compute_us), f("comm_us", comm_us);
    f("memory_us", memory_us), f("overlap_us", overlap_us), f("streams", streams), f("top_kernels", top_kernels);
  }
};

struct Thread {
  std::string pid, tid;
  int64_t ops = 0;
  double busy_us = 0, comm_us = 0;
  template <class F>
  void fields(F& f) const {
    f.id("pid", pid), f.id("tid", tid), f("ops", ops), f("busy_us", busy_us), f("comm_us", comm_us);
  }
};

struct Op {
  std::string name;
  bool comm = false;
  int64_t count = 0;
  double total_us = 0, self_us = 0;
  template <class F>
  void fields(F& f) const {
    f("name", name), f("comm", comm), f("count", count), f("total_us", total_us), f("self_us", self_us);
  }
};

struct CpuBreakdown {
  bool computed = false;
  int64_t ops = 0;
  double start_us = 0, end_us = 0, span_us = 0, busy_us = 0, comm_us = 0;
  double compute_us = 0;  // union over threads of each thread's busy time outside its communication
  std::vector<Thread> threads;
  std::vector<Op> top_ops;
  template <class F>
  void fields(F& f) const {
    f("ops", ops), f("span_us", span_us), f("busy_us", busy_us), f("comm_us", comm_us), f("compute_us", compute_us);
    f("threads", threads), f("top_ops", top_ops);
  }
};

struct TraceFigures {
  std::string file;
  Header header;
  bool gzip = false;
  uint64_t file_bytes = 0;
  int parts = 1;  // byte ranges the file was read in at once
  int64_t origin_us = 0;  // integer part of the first timestamp, in the file's units; times are relative to it
  double start_us = 0, end_us = 0;  // first and last moment of any timed event
  int64_t steps = 0;                // ProfilerStep#N annotations
  double first_step_us = 0;
  std::vector<RankFigures> devices;
  CpuBreakdown cpu;
  // api.cpp gives each device the file's name, steps and CPU figures, and cpu is None where not computed.
  template <class F>
  void fields(F& f) const {
    f("file", file), f("header", header), f("gzip", gzip), f("file_bytes", file_bytes), f("parts", parts);
    f("origin_us", origin_us), f("start_us", start_us), f("end_us", end_us), f("steps", steps);
    f("first_step_us", first_step_us), f("devices", devices), f("cpu", cpu);
  }
};

// Strings seen in a trace, each stored once and numbered in order of first appearance.
class Interner {
 public:
  uint32_t id(std::string_view s);
  const std::vector<std::string_view>& names() const { return names_; }

 private:
  std::deque<std::string> store_;
  std::vector<std::string_view> names_;
  std::unordered_map<std::string_view, uint32_t> map_;
};

// One timed event kept for the figures: [lo, hi) and where (stream or thread) and what (name).
struct Record {
  double lo, hi;
  uint32_t place, name;
};

// Reads every event of one file and keeps what the figures need.
class Collector {
 public:
  void add(const Event& ev);
  void finish(const Header& h);
  // Takes in the records of the part of the file that follows (measured from the same origin).
  void absorb(Collector&& later);

  Interner kernel_names, memory_names, op_names;
  Interner places;   // device stream: pid '\x1f' tid
  Interner threads;  // CPU thread: pid '\x1f' tid
  std::vector<Record> device;  // kernels (name) and memory ops (name | kMemoryBit)
  std::vector<Record> ops;     // CPU operators, runtime calls and annotations (name | kAnnotationBit)
  bool has_origin = false;  // may be set beforehand: a part of a file measures from the file's origin
  int64_t origin = 0;
  bool timed = false;
  double start = 0, end = 0;
  int64_t steps = 0;
  double first_step = 0;

  static constexpr uint32_t kMemoryBit = 0x80000000u;      // in device records
  static constexpr uint32_t kAnnotationBit = 0x80000000u;  // in CPU records: a user annotation
  // Farthest an event may be from the origin (and longest it may last): 2^46 us, 814 days.
  static constexpr int64_t kMaxApartUs = int64_t(1) << 46;

 private:
  uint32_t place(const Event& ev, Interner& table, std::string& last_key, uint32_t& last_id);
  std::string key_;
  std::string last_place_key_, last_thread_key_;
  uint32_t last_place_ = UINT32_MAX, last_thread_ = UINT32_MAX;
};

// The figures of a collected trace, given which kernel and operator names are communication.
TraceFigures figures(Collector& c, const std::vector<uint8_t>& kernel_comm, const std::vector<uint8_t>& op_comm,
                     int top, bool cpu);

// Scans `path` into `c` and returns its header (throws InputError for bad input). A large plain file is
// read in up to *parts byte ranges at once; *parts becomes the number read.
Header collect(const std::string& path, Collector& c, bool* gzip, uint64_t* file_bytes, int* parts);

}  // namespace ff::trace
