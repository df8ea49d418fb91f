// The check of a sorted GraySort output, one pass over each batch of records: keys out of order, an
// order-independent 64-bit checksum of the 100-byte records, and how often each record index was seen.
#include <cstring>

#include "fs3/bench/bench.h"

namespace ff::fs3::bench {
namespace {

constexpr size_t kKey = 10, kValue = 90;

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

inline uint64_t load_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The hash of one record: its 100 bytes padded with 4 zero bytes, read as 13 little-endian words, each
// times an odd constant, summed, then mixed (SplitMix64's finaliser, two rounds).
uint64_t record_hash(const uint8_t* key, const uint8_t* value) {
  uint8_t rec[104];
  std::memcpy(rec, key, kKey);
  std::memcpy(rec + kKey, value, kValue);
  std::memset(rec + kKey + kValue, 0, 4);
  uint64_t h = 0;
  for (uint64_t i = 0; i < 13; ++i) {
    const uint64_t mult = (0x9E3779B97F4A7C15ull * (2 * i + 1) + 0x632BE59BD9B4E019ull * i) | 1;
    h += load_le64(rec + 8 * i) * mult;
  }
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 29);
}

}  // namespace

RecordSummary summarize_records(In2<uint8_t> keys, In2<uint8_t> values, std::optional<Mut1<uint16_t>> seen) {
  const size_t n = keys.shape(0);
  FF_CHECK(keys.shape(1) == kKey && values.shape(1) == kValue && values.shape(0) == n,
           "summarize_records: expected keys (n, 10) and values (n, 90), got (" << keys.shape(0) << ", "
                                                                                << keys.shape(1) << ") and ("
                                                                                << values.shape(0) << ", "
                                                                                << values.shape(1) << ")");
  const uint8_t* k = keys.data();
  const uint8_t* v = values.data();
  uint16_t* counts = seen ? seen->data() : nullptr;
  const uint64_t slots = seen ? seen->shape(0) : 0;
  RecordSummary out;
  out.rows = static_cast<int64_t>(n);
  nb::gil_scoped_release release;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* key = k + i * kKey;
    const uint8_t* value = v + i * kValue;
    if (i > 0 && std::memcmp(key, key - kKey, kKey) < 0) ++out.disorder;
    out.checksum += record_hash(key, value);
    if (counts) {
      const uint64_t index = load_be(value, 8);
      if (index < slots && counts[index] < UINT16_MAX) ++counts[index];
    }
  }
  return out;
}

}  // namespace ff::fs3::bench
