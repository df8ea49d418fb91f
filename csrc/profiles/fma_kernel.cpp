// The FMA-rate probe's kernel. Built with -ffp-contract=fast (CMakeLists.txt) so that
// acc * mul + add becomes one fused multiply-add; everything else in the core is built without it.
#include <cstdint>

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
constexpr int kAcc = 16;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
constexpr int kAcc = 10;
#else
constexpr int kVecBytes = 16;
constexpr int kAcc = 10;
#endif
namespace ff::profiles {

typedef float vfloat __attribute__((vector_size(kVecBytes)));
constexpr int kLanes = kVecBytes / 4;

int fma_flops_per_iter() { return 2 * kAcc * kLanes; }

// kAcc independent vector accumulators hide the FMA latency.
double fma_kernel(int64_t iters, float seed) {
  vfloat acc[kAcc];
  vfloat mul, add;
  for (int l = 0; l < kLanes; ++l) {
    mul[l] = 0.999999f;
    add[l] = 1e-7f * seed;
  }
  for (int k = 0; k < kAcc; ++k)
    for (int l = 0; l < kLanes; ++l) acc[k][l] = seed + k + l;
  for (int64_t i = 0; i < iters; ++i) {
    // NOTE: no fast-math, so the compiler cannot fold the float recurrence away.
#pragma GCC unroll 16
    for (int k = 0; k < kAcc; ++k) acc[k] = acc[k] * mul + add;
  }
  double sum = 0;
  for (int k = 0; k < kAcc; ++k)
    for (int l = 0; l < kLanes; ++l) sum += acc[k][l];
  return sum;
}

}  // namespace ff::profiles
