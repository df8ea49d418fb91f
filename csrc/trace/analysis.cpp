#include "trace/analysis.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include "common/common.h"
#include "common/intervals.h"
#include "common/thread_pool.h"

namespace ff::trace {

namespace {

using intervals::Span;
using intervals::UnionBuilder;

enum class Cat { Other, Kernel, Memory, CpuOp, Annotation };

// What a complete event's category makes it (Kineto's names, and the capitalised ones of PyTorch < 1.10).
Cat category(std::string_view cat) {
  switch (cat.size()) {
    case 6:
      if (cat == "kernel" || cat == "Kernel") return Cat::Kernel;
      if (cat == "cpu_op" || cat == "Driver" || cat == "driver") return Cat::CpuOp;
      return cat == "Memcpy" || cat == "Memset" ? Cat::Memory : Cat::Other;
    case 7:
      return cat == "Runtime" || cat == "runtime" ? Cat::CpuOp : Cat::Other;
    case 8:
      return cat == "Operator" || cat == "operator" ? Cat::CpuOp : Cat::Other;
    case 10:
      return cat == "gpu_memcpy" || cat == "gpu_memset" ? Cat::Memory : Cat::Other;
    case 11:
      return cat == "cuda_driver" ? Cat::CpuOp : Cat::Other;
    case 12:
      return cat == "cuda_runtime" ? Cat::CpuOp : Cat::Other;
    case 15:
      return cat == "user_annotation" ? Cat::Annotation : Cat::Other;
    default:
      return Cat::Other;
  }
}

std::string event_field(const Event& ev, const char* key) {
  return "traceEvents[" + std::to_string(ev.index) + "]." + key;
}

// Numbers sort by value, then strings by text (device "0" < "1" < "10" < "GPU").
bool id_less(std::string_view a, std::string_view b) {
  auto number = [](std::string_view s, double* v) {
    if (s.empty() || s.size() > 30) return false;
    char buf[32];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = 0;
    char* e = nullptr;
    *v = std::strtod(buf, &e);
    return e == buf + s.size();
  };
  double x = 0, y = 0;
  const bool nx = number(a, &x), ny = number(b, &y);
  if (nx != ny) return nx;
  if (nx && x != y) return x < y;
  return a < b;
}

double length_of(UnionBuilder& b, std::vector<Span>& spans) {
  b.finish();
  return intervals::total_length(spans);
}

struct DeviceWork {
  std::vector<Span> busy, compute, comm, memory;
  UnionBuilder ub{&busy}, uc{&compute}, um{&comm}, uy{&memory};
  bool any = false;
  double lo = 0, hi = 0;
};

struct StreamWork {
  std::vector<Span> busy, compute, comm, memory;
  UnionBuilder ub{&busy}, uc{&compute}, um{&comm}, uy{&memory};
  int64_t count = 0;
};

}  // namespace

uint32_t Interner::id(std::string_view s) {
  auto it = map_.find(s);
  if (it != map_.end()) return it->second;
  store_.emplace_back(s);
  const std::string_view kept = store_.back();
  const auto id = static_cast<uint32_t>(names_.size());
  names_.push_back(kept);
  map_.emplace(kept, id);
  return id;
}

uint32_t Collector::place(const Event& ev, Interner& table, std::string& last_key, uint32_t& last_id) {
  key_.clear();
  key_.push_back(ev.pid_is_string ? 's' : 'n');
  key_.append(ev.pid);
  key_.push_back('\x1f');
  key_.push_back(ev.tid_is_string ? 's' : 'n');
  key_.append(ev.tid);
  if (last_id != UINT32_MAX && key_ == last_key) return last_id;
  last_key = key_;
  last_id = table.id(key_);
  return last_id;
}

void Collector::add(const Event& ev) {
  FF_CHECK_FIELD(ev.has_ph, event_field(ev, "ph"), "missing: every trace event needs a phase (ph)");
  if (ev.ph.size() == 1 && ev.ph[0] == 'M') return;  // metadata: names and sort orders, no time
  FF_CHECK_FIELD(ev.has_ts, event_field(ev, "ts"), "missing: every event but metadata (ph M) needs a timestamp");
  if (!has_origin) {
    has_origin = true;
    origin = ev.ts_int;
  }
  // NOTE: times are doubles relative to the origin: within kMaxApartUs (2^46 us) of it they keep 8 ns.
  int64_t rel = 0;
  const bool far = __builtin_sub_overflow(ev.ts_int, origin, &rel) || rel > kMaxApartUs || rel < -kMaxApartUs;
  FF_CHECK_FIELD(!far, event_field(ev, "ts"),
                 ev.ts_int << " is more than 2^46 us (814 days) from the trace's first timestamp " << origin
                           << ": not one trace's clock");
  const double lo = static_cast<double>(rel) + ev.ts_frac;
  double hi = lo;
  const bool complete = ev.ph.size() == 1 && ev.ph[0] == 'X';
  if (complete) {
    FF_CHECK_FIELD(ev.has_dur, event_field(ev, "dur"), "missing: a complete event (ph X) needs a duration");
    FF_CHECK_FIELD(ev.dur >= 0, event_field(ev, "dur"), "must be >= 0, got " << ev.dur);
    FF_CHECK_FIELD(ev.dur <= kMaxApartUs, event_field(ev, "dur"),
                   "must be at most 2^46 us (814 days), got " << ev.dur);
    hi = lo + ev.dur;
  }
  start = timed ? std::min(start, lo) : lo;
  end = timed ? std::max(end, hi) : hi;
  timed = true;
  if (!complete) return;
  const Cat cat = category(ev.cat);
  if (cat == Cat::Kernel) {
    device.push_back({lo, hi, place(ev, places, last_place_key_, last_place_), kernel_names.id(ev.name)});
  } else if (cat == Cat::Memory) {
    device.push_back(
        {lo, hi, place(ev, places, last_place_key_, last_place_), memory_names.id(ev.name) | kMemoryBit});
  } else if (cat == Cat::CpuOp) {
    ops.push_back({lo, hi, place(ev, threads, last_thread_key_, last_thread_), op_names.id(ev.name)});
  } else if (cat == Cat::Annotation) {
    if (ev.name.substr(0, 13) == "ProfilerStep#") {
      first_step = steps == 0 ? lo : std::min(first_step, lo);
      ++steps;
    } else {  // kept for communication ranges (gloo:all_reduce on gloo's threads); others are skipped later
      ops.push_back(
          {lo, hi, place(ev, threads, last_thread_key_, last_thread_), op_names.id(ev.name) | kAnnotationBit});
    }
  }
}

void Collector::finish(const Header& h) {
  FF_CHECK(timed, "no timed events: the trace's " << h.events << " events are all metadata (ph M)");
}

void Collector::absorb(Collector&& o) {
  auto remap = [](Interner& into, const Interner& from) {
    std::vector<uint32_t> ids(from.names().size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = into.id(from.names()[i]);
    return ids;
  };
  const auto kernel = remap(kernel_names, o.kernel_names), memory = remap(memory_names, o.memory_names);
  const auto op = remap(op_names, o.op_names), place = remap(places, o.places), thread = remap(threads, o.threads);
  device.reserve(device.size() + o.device.size());
  for (const Record& r : o.device) {
    const bool mem = (r.name & kMemoryBit) != 0;
    const uint32_t n = r.name & ~kMemoryBit;
    device.push_back({r.lo, r.hi, place[r.place], mem ? memory[n] | kMemoryBit : kernel[n]});
  }
  ops.reserve(ops.size() + o.ops.size());
  for (const Record& r : o.ops)
    ops.push_back({r.lo, r.hi, thread[r.place], op[r.name & ~kAnnotationBit] | (r.name & kAnnotationBit)});
  if (o.timed) {
    start = timed ? std::min(start, o.start) : o.start;
    end = timed ? std::max(end, o.end) : o.end;
    timed = true;
  }
  if (o.steps) first_step = steps ? std::min(first_step, o.first_step) : o.first_step;
  steps += o.steps;
  o = Collector{};
}

namespace {

constexpr uint64_t kMinPart = 16 << 20;  // bytes: smaller parts do not pay for their threads

// The integer part of the first timestamp of a timed event: the origin every part of a file measures from,
// so that a file read in parts gives exactly the figures of one read as a whole.
bool first_timestamp(const std::string& path, int64_t* origin) {
  ByteSource src(path);
  Scanner scanner(src);
  Event ev;
  while (scanner.next(ev)) {
    if (ev.has_ph && ev.has_ts && !(ev.ph.size() == 1 && ev.ph[0] == 'M')) {
      *origin = ev.ts_int;
      return true;
    }
  }
  return false;
}

// The first offset at or after `from` just after a ',' that only whitespace and a newline separate from a
// '{': the start of an element of an array of objects (traceEvents, most likely). NOTE: JSON strings cannot
// hold a raw newline, so the ',' and the '{' around one are never inside a string. 0 if none is near.
uint64_t split_point(int fd, uint64_t from, uint64_t size) {
  constexpr size_t kWindow = 1 << 20;
  std::vector<char> buf(kWindow);
  const uint64_t stop = std::min(size, from + (64u << 20));
  uint64_t comma = 0;  // offset after the last ',' followed by whitespace only, or 0
  bool newline = false;
  for (uint64_t at = from; at < stop;) {
    const ssize_t got = ::pread(fd, buf.data(), std::min<uint64_t>(kWindow, stop - at), static_cast<off_t>(at));
    if (got <= 0) return 0;
    for (ssize_t i = 0; i < got; ++i) {
      const char c = buf[static_cast<size_t>(i)];
      if (c == ',') {
        comma = at + static_cast<uint64_t>(i) + 1, newline = false;
      } else if (c == '\n') {
        newline = comma != 0;
      } else if (c == '{' && newline) {
        return comma;
      } else if (!(c == ' ' || c == '\t' || c == '\r')) {
        comma = 0, newline = false;
      }
    }
    at += static_cast<uint64_t>(got);
  }
  return 0;
}

// Reads a large plain file in `parts` byte ranges at once, split between events of traceEvents. False
// (and nothing collected) when the file does not split cleanly or any part fails: the caller then reads
// it whole, and reports any error with its exact place.
bool collect_parts(const std::string& path, int parts, Collector& c, Header* header, uint64_t* file_bytes,
                   int* used) {
  ByteSource probe(path);
  const uint64_t size = probe.size();
  if (probe.gzip() || parts < 2 || size < 2 * kMinPart) return false;
  parts = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(parts), size / kMinPart));
  char first = 0;
  for (uint64_t at = 0; at < std::min<uint64_t>(size, 4096) && ::pread(probe.fd(), &first, 1, at) == 1; ++at)
    if (!(first == ' ' || first == '\n' || first == '\t' || first == '\r')) break;
  int64_t origin = 0;
  try {
    if (!first_timestamp(path, &origin)) return false;
  } catch (const InputError&) {
    return false;
  }
  std::vector<uint64_t> bounds{0};
  for (int k = 1; k < parts; ++k) {
    const uint64_t target = std::max(bounds.back() + kMinPart, size * static_cast<uint64_t>(k) / parts);
    if (target >= size) break;
    const uint64_t at = split_point(probe.fd(), target, size);
    if (at == 0 || at >= size) break;
    bounds.push_back(at);
  }
  bounds.push_back(size);
  const int n = static_cast<int>(bounds.size()) - 1;
  if (n < 2) return false;
  std::vector<Collector> cols(static_cast<size_t>(n));
  std::vector<Header> heads(static_cast<size_t>(n));
  std::vector<uint64_t> read(static_cast<size_t>(n));
  std::vector<char> ok(static_cast<size_t>(n), 0);
  run_on_threads(n, [&](int t) {
    try {
      ByteSource src(path, bounds[t], bounds[t + 1]);
      Scanner scanner(src, Part{t == 0, t == n - 1, first == '[', bounds[t]});
      Collector& col = cols[static_cast<size_t>(t)];
      col.has_origin = true;
      col.origin = origin;
      Event ev;
      while (scanner.next(ev)) col.add(ev);
      heads[t] = scanner.header();
      read[t] = src.file_bytes();
      ok[t] = t == n - 1 || scanner.boundary();
    } catch (...) {
      ok[t] = 0;
    }
  });
  for (char k : ok)
    if (!k) return false;
  Header h = heads[0];
  c = std::move(cols[0]);
  *file_bytes = read[0];
  for (int t = 1; t < n; ++t) {
    c.absorb(std::move(cols[t]));
    const Header& p = heads[t];
    h.events += p.events;
    h.bytes += p.bytes;
    h.events_end = p.events_end;
    if (p.has_rank) h.has_rank = true, h.rank = p.rank;
    if (p.has_world_size) h.has_world_size = true, h.world_size = p.world_size;
    if (p.has_base_time) h.has_base_time = true, h.base_time_ns = p.base_time_ns;
    *file_bytes += read[t];
  }
  *header = h;
  *used = n;
  return true;
}

}  // namespace

Header collect(const std::string& path, Collector& c, bool* gzip, uint64_t* file_bytes, int* parts) {
  Header h;
  if (collect_parts(path, *parts, c, &h, file_bytes, parts)) {
    *gzip = false;
    c.finish(h);
    return h;
  }
  *parts = 1;
  c = Collector{};
  ByteSource src(path);
  Scanner scanner(src);
  Event ev;
  while (scanner.next(ev)) c.add(ev);
  c.finish(scanner.header());
  *gzip = src.gzip();
  *file_bytes = src.file_bytes();
  return scanner.header();
}

TraceFigures figures(Collector& c, const std::vector<uint8_t>& kernel_comm, const std::vector<uint8_t>& op_comm,
                     int top, bool cpu) {
  TraceFigures f;
  f.origin_us = c.origin;
  f.start_us = c.start;
  f.end_us = c.end;
  f.steps = c.steps;
  f.first_step_us = c.first_step;

  // ---- Devices: one pass over kernels, copies and sets in order of start, feeding every union.
  auto split = [](std::string_view key, std::string* pid, std::string* tid) {
    const size_t bar = key.find('\x1f');
    *pid = std::string(key.substr(1, bar - 1));
    *tid = std::string(key.substr(bar + 2));
  };
  const auto& place_keys = c.places.names();
  std::vector<std::string> device_names;
  std::vector<uint32_t> place_device(place_keys.size());
  std::vector<std::string> place_stream(place_keys.size());
  {
    std::vector<std::string> pids(place_keys.size());
    for (size_t i = 0; i < place_keys.size(); ++i) split(place_keys[i], &pids[i], &place_stream[i]);
    device_names = pids;
    std::sort(device_names.begin(), device_names.end(), id_less);
    device_names.erase(std::unique(device_names.begin(), device_names.end()), device_names.end());
    for (size_t i = 0; i < place_keys.size(); ++i)
      place_device[i] = static_cast<uint32_t>(
          std::lower_bound(device_names.begin(), device_names.end(), pids[i], id_less) - device_names.begin());
  }
  auto by_start = [](const Record& a, const Record& b) { return a.lo < b.lo || (a.lo == b.lo && a.hi < b.hi); };
  if (!std::is_sorted(c.device.begin(), c.device.end(), by_start))
    std::sort(c.device.begin(), c.device.end(), by_start);

  const size_t nk = c.kernel_names.names().size(), nm = c.memory_names.names().size();
  FF_CHECK(kernel_comm.size() == nk, "kernel_comm: expected " << nk << " flags, got " << kernel_comm.size());
  FF_CHECK(op_comm.size() == c.op_names.names().size(),
           "op_comm: expected " << c.op_names.names().size() << " flags, got " << op_comm.size());
  std::vector<DeviceWork> dev(device_names.size());
  std::vector<StreamWork> streams(place_keys.size());
  // Per device, per name: count, total and longest (kernels first, then memory ops).
  std::vector<std::vector<Kernel>> totals(device_names.size());
  for (auto& t : totals) t.resize(nk + nm);
  std::vector<RankFigures> out(device_names.size());
  for (const Record& r : c.device) {
    const uint32_t d = place_device[r.place];
    DeviceWork& w = dev[d];
    StreamWork& s = streams[r.place];
    RankFigures& o = out[d];
    const bool memory = (r.name & Collector::kMemoryBit) != 0;
    const uint32_t name = r.name & ~Collector::kMemoryBit;
    const Kind kind = memory ? kMemory : (kernel_comm[name] ? kComm : kCompute);
    if (!w.any) w.lo = r.lo, w.hi = r.hi, w.any = true;
    w.hi = std::max(w.hi, r.hi);
    w.ub.push(r.lo, r.hi);
    s.ub.push(r.lo, r.hi);
    ++s.count;
    if (kind == kCompute) w.uc.push(r.lo, r.hi), s.uc.push(r.lo, r.hi), ++o.kernels;
    else if (kind == kComm) w.um.push(r.lo, r.hi), s.um.push(r.lo, r.hi), ++o.kernels, ++o.comm_kernels;
    else w.uy.push(r.lo, r.hi), s.uy.push(r.lo, r.hi), ++o.memory_ops;
    Kernel& t = totals[d][memory ? nk + name : name];
    const double dur = r.hi - r.lo;
    t.kind = kind;
    ++t.count;
    t.total_us += dur;
    t.max_us = std::max(t.max_us, dur);
  }
  for (size_t d = 0; d < device_names.size(); ++d) {
    DeviceWork& w = dev[d];
    RankFigures& o = out[d];
    o.device = device_names[d];
    o.start_us = w.lo;
    o.end_us = w.hi;
    o.span_us = w.hi - w.lo;
    o.busy_us = length_of(w.ub, w.busy);
    o.compute_us = length_of(w.uc, w.compute);
    o.comm_us = length_of(w.um, w.comm);
    o.memory_us = length_of(w.uy, w.memory);
    o.overlap_us = intervals::intersect_length(w.compute, w.comm);
    std::vector<size_t> order;
    for (size_t p = 0; p < place_keys.size(); ++p)
      if (place_device[p] == d) order.push_back(p);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return id_less(place_stream[a], place_stream[b]); });
    for (size_t p : order) {
      StreamWork& s = streams[p];
      Stream sf;
      sf.stream = place_stream[p];
      sf.kernels = s.count;
      sf.busy_us = length_of(s.ub, s.busy);
      sf.compute_us = length_of(s.uc, s.compute);
      sf.comm_us = length_of(s.um, s.comm);
      sf.memory_us = length_of(s.uy, s.memory);
      o.streams.push_back(std::move(sf));
    }
    std::vector<Kernel>& t = totals[d];
    for (size_t k = 0; k < t.size(); ++k)
      t[k].name = std::string(k < nk ? c.kernel_names.names()[k] : c.memory_names.names()[k - nk]);
    t.erase(std::remove_if(t.begin(), t.end(), [](const Kernel& k) { return k.count == 0; }), t.end());
    std::sort(t.begin(), t.end(), [](const Kernel& a, const Kernel& b) {
      return a.total_us > b.total_us || (a.total_us == b.total_us && a.name < b.name);
    });
    if (top > 0 && t.size() > static_cast<size_t>(top)) t.resize(static_cast<size_t>(top));
    o.top_kernels = std::move(t);
  }
  f.devices = std::move(out);
  c.device.clear();
  c.device.shrink_to_fit();

  // ---- CPU: per thread, operators in order of start (longest first among equals) for unions and self time.
  if (!cpu && !f.devices.empty()) return f;
  CpuBreakdown& cf = f.cpu;
  cf.computed = true;
  std::sort(c.ops.begin(), c.ops.end(), [](const Record& a, const Record& b) {
    if (a.place != b.place) return a.place < b.place;
    if (a.lo != b.lo) return a.lo < b.lo;
    return a.hi > b.hi;
  });
  // Annotations count only where they name communication (a range spanning a whole step is not work).
  c.ops.erase(std::remove_if(c.ops.begin(), c.ops.end(),
                             [&](const Record& r) {
                               return (r.name & Collector::kAnnotationBit) &&
                                      !op_comm[r.name & ~Collector::kAnnotationBit];
                             }),
              c.ops.end());
  for (Record& r : c.ops) r.name &= ~Collector::kAnnotationBit;
  cf.ops = static_cast<int64_t>(c.ops.size());
  const size_t no = c.op_names.names().size();
  std::vector<Op> ops(no);
  std::vector<Span> all_busy, all_comm, all_compute;
  const auto& thread_keys = c.threads.names();
  std::vector<Thread> threads;
  std::vector<std::pair<size_t, double>> stack;  // (op index, its self time so far)
  for (size_t i = 0; i < c.ops.size();) {
    const uint32_t th = c.ops[i].place;
    std::vector<Span> busy, comm;
    UnionBuilder ub(&busy), uc(&comm);
    Thread tf;
    split(thread_keys[th], &tf.pid, &tf.tid);
    stack.clear();
    auto close = [&](size_t keep) {
      while (stack.size() > keep) {
        ops[c.ops[stack.back().first].name].self_us += std::max(0.0, stack.back().second);
        stack.pop_back();
      }
    };
    for (; i < c.ops.size() && c.ops[i].place == th; ++i) {
      const Record& r = c.ops[i];
      const double dur = r.hi - r.lo;
      size_t keep = stack.size();
      while (keep > 0 && c.ops[stack[keep - 1].first].hi <= r.lo) --keep;
      close(keep);
      if (!stack.empty()) stack.back().second -= std::min(r.hi, c.ops[stack.back().first].hi) - r.lo;
      stack.push_back({i, dur});
      ub.push(r.lo, r.hi);
      if (op_comm[r.name]) uc.push(r.lo, r.hi);
      Op& t = ops[r.name];
      ++t.count;
      t.total_us += dur;
      ++tf.ops;
    }
    close(0);
    tf.busy_us = length_of(ub, busy);
    tf.comm_us = length_of(uc, comm);
    const std::vector<Span> own = intervals::subtract(busy, comm);  // work, not waits in communication
    all_compute.insert(all_compute.end(), own.begin(), own.end());
    all_busy.insert(all_busy.end(), busy.begin(), busy.end());
    all_comm.insert(all_comm.end(), comm.begin(), comm.end());
    threads.push_back(std::move(tf));
  }
  if (!c.ops.empty()) {
    cf.start_us = c.ops.front().lo;
    cf.end_us = c.ops.front().hi;
    for (const Record& r : c.ops) cf.start_us = std::min(cf.start_us, r.lo), cf.end_us = std::max(cf.end_us, r.hi);
    cf.span_us = cf.end_us - cf.start_us;
  }
  cf.busy_us = intervals::total_length(intervals::union_of(std::move(all_busy)));
  cf.comm_us = intervals::total_length(intervals::union_of(std::move(all_comm)));
  cf.compute_us = intervals::total_length(intervals::union_of(std::move(all_compute)));
  std::sort(threads.begin(), threads.end(), [](const Thread& a, const Thread& b) {
    return a.busy_us > b.busy_us || (a.busy_us == b.busy_us && (a.pid != b.pid ? id_less(a.pid, b.pid)
                                                                               : id_less(a.tid, b.tid)));
  });
  cf.threads = std::move(threads);
  for (size_t k = 0; k < no; ++k) ops[k].name = std::string(c.op_names.names()[k]), ops[k].comm = op_comm[k] != 0;
  ops.erase(std::remove_if(ops.begin(), ops.end(), [](const Op& o) { return o.count == 0; }), ops.end());
  std::sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) {
    return a.self_us > b.self_us || (a.self_us == b.self_us && a.name < b.name);
  });
  if (top > 0 && ops.size() > static_cast<size_t>(top)) ops.resize(static_cast<size_t>(top));
  cf.top_ops = std::move(ops);
  return f;
}

}  // namespace ff::trace
