// Machine probes for `flyer profiles detect`: a STREAM-style triad and an FMA-bound loop on all requested threads.
#include "profiles/detection.h"

#include "common/arrays.h"
#include "common/common.h"
#include "common/memory.h"
#include "common/thread_pool.h"

#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace ff::profiles {
namespace {

using Clock = std::chrono::steady_clock;

// Sense-reversing spin barrier: threads meet before and after each timed pass,
// so thread start-up never lands inside a measurement.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n), waiting_(0), sense_(false) {}
  void wait() {
    bool my_sense = !sense_.load(std::memory_order_relaxed);
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      waiting_.store(0, std::memory_order_relaxed);
      sense_.store(my_sense, std::memory_order_release);
    } else {
      while (sense_.load(std::memory_order_acquire) != my_sense) std::this_thread::yield();
    }
  }

 private:
  const int n_;
  std::atomic<int> waiting_;
  std::atomic<bool> sense_;
};

// NOTE: more threads than cores time-share them and report bandwidth and FLOP rates no machine has.
void check_threads(int threads) {
  const int cores = ff::threads_available();
  FF_CHECK_FIELD(threads >= 1 && threads <= cores, "threads",
                 "must be between 1 and the " << cores << " cores this process may run on, got " << threads);
}

inline void chunk(size_t n, int threads, int t, size_t& lo, size_t& hi) {
  // NOTE: chunks are multiples of 8 doubles (one cache line) so threads never share a line.
  size_t per = ((n + threads - 1) / threads + 7) & ~size_t(7);
  lo = std::min(n, per * t);
  hi = std::min(n, lo + per);
}

void triad_range(double* __restrict a, const double* __restrict b, const double* __restrict c, double s,
                 size_t lo, size_t hi) {
#pragma GCC ivdep
  for (size_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
}

// Timed triad passes over caller- or core-owned arrays; returns seconds per pass.
std::vector<double> triad_passes(double* a, const double* b, const double* c, double s, size_t n,
                                 int threads, int reps) {
  std::vector<double> seconds(reps, 0.0);
  SpinBarrier barrier(threads);
  Clock::time_point t0;
  ff::run_on_threads(threads, [&](int t) {
    size_t lo, hi;
    chunk(n, threads, t, lo, hi);
    for (int r = 0; r < reps; ++r) {
      barrier.wait();
      if (t == 0) t0 = Clock::now();
      triad_range(a, b, c, s, lo, hi);
      barrier.wait();
      if (t == 0) seconds[r] = std::chrono::duration<double>(Clock::now() - t0).count();
    }
  });
  return seconds;
}

}  // namespace

std::vector<double> triad(Vec1D a, Vec1D b, Vec1D c, double scalar, int threads, int reps) {
  size_t n = a.shape(0);
  FF_CHECK(b.shape(0) == n && c.shape(0) == n,
           "triad: arrays must have one length, got " << n << ", " << b.shape(0) << ", " << c.shape(0));
  check_threads(threads);
  FF_CHECK(reps >= 1, "triad: reps must be >= 1, got " << reps);
  nb::gil_scoped_release release;
  return triad_passes(a.data(), b.data(), c.data(), scalar, n, threads, reps);
}

struct AlignedBuffer {
  double* p = nullptr;
  explicit AlignedBuffer(size_t n) {
    if (posix_memalign(reinterpret_cast<void**>(&p), 2 << 20, n * sizeof(double)) != 0) p = nullptr;
  }
  ~AlignedBuffer() { std::free(p); }
};

// Core-owned arrays, first touched by the thread that later streams them (NUMA-local pages).
std::vector<double> stream_triad(size_t n, int threads, int reps) {
  FF_CHECK(n >= 1024, "stream_triad: n must be >= 1024 elements, got " << n);
  check_threads(threads);
  FF_CHECK(reps >= 1, "stream_triad: reps must be >= 1, got " << reps);
  ff::check_fits(3.0 * sizeof(double) * static_cast<double>(n), "the triad's three arrays");
  nb::gil_scoped_release release;
  AlignedBuffer a(n), b(n), c(n);
  if (!a.p || !b.p || !c.p) throw std::bad_alloc();
  ff::run_on_threads(threads, [&](int t) {
    size_t lo, hi;
    chunk(n, threads, t, lo, hi);
    for (size_t i = lo; i < hi; ++i) {
      a.p[i] = 0.0;
      b.p[i] = 1.0;
      c.p[i] = 2.0;
    }
  });
  return triad_passes(a.p, b.p, c.p, 3.0, n, threads, reps);
}

// Returns (flops, seconds) for each of `reps` passes of `iters` iterations on every thread.
std::vector<std::pair<double, double>> fma_peak(int64_t iters, int threads, int reps) {
  FF_CHECK(iters >= 1, "fma_peak: iters must be >= 1, got " << iters);
  check_threads(threads);
  FF_CHECK(reps >= 1, "fma_peak: reps must be >= 1, got " << reps);
  nb::gil_scoped_release release;
  std::vector<std::pair<double, double>> out(reps);
  SpinBarrier barrier(threads);
  Clock::time_point t0;
  std::vector<double> sink(threads * 8, 0.0);
  const double flops = double(fma_flops_per_iter()) * double(iters) * threads;
  ff::run_on_threads(threads, [&](int t) {
    for (int r = 0; r < reps; ++r) {
      barrier.wait();
      if (t == 0) t0 = Clock::now();
      sink[t * 8] += fma_kernel(iters, 1.0f + t);
      barrier.wait();
      if (t == 0) out[r] = {flops, std::chrono::duration<double>(Clock::now() - t0).count()};
    }
  });
  return out;
}

std::string isa() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__AVX__)
  return "avx";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "sse2";
#endif
}

}  // namespace ff::profiles
