// What the I/O engine and the metadata workload share: jobs watched by the calling thread (signals,
// progress, the first error stops all), latency reservoirs, a seeded generator and aligned buffers.
#pragma once

#include <nanobind/nanobind.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common/arrays.h"
#include "common/common.h"

namespace ff::fs3::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Limits both workloads share: jobs per run, and latency samples kept per run (split between its jobs).
constexpr int64_t kMaxJobs = 4096;
constexpr size_t kLatencyCap = size_t(1) << 22;

// A system call failed on a path: an InputError naming what was tried, the path and errno's text.
[[noreturn]] inline void os_fail(const std::string& what, const std::string& path, int err) {
  throw InputError(what + " " + path + ": " + std::strerror(err));
}

// SplitMix64: the seeded generator behind offsets, payloads and reservoir sampling.
struct SplitMix64 {
  uint64_t state;
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// Keeps at most `cap` of the values offered, each offered value equally likely to be kept
// (reservoir sampling), so a run of any length yields unbiased percentiles in bounded memory.
class Reservoir {
 public:
  Reservoir(size_t cap, uint64_t seed) : cap_(cap), rng_(seed) { kept_.reserve(std::min<size_t>(cap, 1 << 16)); }
  void offer(double v) {
    ++seen_;
    if (kept_.size() < cap_) {
      kept_.push_back(v);
    } else {
      uint64_t j = rng_.next() % seen_;
      if (j < cap_) kept_[j] = v;
    }
  }
  const std::vector<double>& kept() const { return kept_; }

 private:
  size_t cap_;
  SplitMix64 rng_;
  uint64_t seen_ = 0;
  std::vector<double> kept_;
};

// Latency samples of all jobs together, as one numpy array (seconds).
inline Out<double> gather(const std::vector<Reservoir>& parts) {
  std::vector<double> all;
  for (const auto& r : parts) all.insert(all.end(), r.kept().begin(), r.kept().end());
  return to_numpy(std::move(all));
}

// Page-aligned memory, as O_DIRECT needs for its buffers.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t bytes) : bytes_(bytes) {
    if (posix_memalign(&p_, 4096, bytes > 0 ? bytes : 4096) != 0) throw std::bad_alloc();
  }
  ~AlignedBuffer() { std::free(p_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  char* data() const { return static_cast<char*>(p_); }
  size_t size() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_;
};

// Called by the watching thread, with the GIL held, about ten times a second.
using Tick = std::function<void()>;

// Runs body(job) for job in [0, jobs) on `jobs` threads of the core's pool while the calling thread
// watches: it checks for Python signals (Ctrl-C; SIGTERM when the caller maps it to an exception) and
// calls `tick`. The first failure (a job's exception, a signal, an exception from `tick`) sets `stop`;
// jobs are expected to return soon after, and the failure is rethrown on the calling thread once all
// have. Call with the GIL released.
class Runner {
 public:
  std::atomic<bool> stop{false};

  void fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = e;
    stop.store(true, std::memory_order_relaxed);
  }

  void run(int jobs, const std::function<void(int)>& body, const Tick& tick);

 private:
  void watch(const Tick& tick);

  std::mutex mu_;
  std::condition_variable done_cv_;
  std::exception_ptr error_;
  int running_ = 0;
};

}  // namespace ff::fs3::bench
