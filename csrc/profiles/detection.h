// Machine probes for `flyer profiles detect`: a STREAM-style triad and an FMA-bound loop (detection.cpp; the
// loop's body in fma_kernel.cpp, the one file built with FMA contraction on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/arrays.h"

namespace ff::profiles {

using Vec1D = Mut1<double>;

// a[:] = b + scalar * c on `threads` threads; seconds of each of `reps` passes.
std::vector<double> triad(Vec1D a, Vec1D b, Vec1D c, double scalar, int threads, int reps);
// The triad over three core-owned arrays of n float64 (24 * n bytes a pass); seconds of each pass.
std::vector<double> stream_triad(size_t n, int threads, int reps);
// (flops, seconds) of each pass of the FMA loop on `threads` threads.
std::vector<std::pair<double, double>> fma_peak(int64_t iters, int threads, int reps);
// The vector instruction set the core was compiled for.
std::string isa();

// fma_kernel.cpp: one thread's FMA loop (returns a sum so it is not optimised away) and its flops per iteration.
double fma_kernel(int64_t iters, float seed);
int fma_flops_per_iter();

}  // namespace ff::profiles
