// Interval algebra on half-open spans [lo, hi): union, intersection, difference and total length.
// Inputs to the two-list operations are disjoint and sorted (what union_of or UnionBuilder give);
// UnionBuilder merges a stream sorted by start without holding it, so traces of any size stream through.
#pragma once

#include <algorithm>
#include <vector>

namespace ff::intervals {

struct Span {
  double lo, hi;
};

// Merges spans pushed in order of start into disjoint, sorted spans appended to *out.
// Touching spans merge; empty spans (hi <= lo) are dropped.
class UnionBuilder {
 public:
  explicit UnionBuilder(std::vector<Span>* out) : out_(out) {}
  void push(double lo, double hi) {
    if (!(hi > lo)) return;
    if (open_ && lo <= cur_.hi) {
      cur_.hi = std::max(cur_.hi, hi);
      return;
    }
    if (open_) out_->push_back(cur_);
    cur_ = {lo, hi};
    open_ = true;
  }
  void finish() {
    if (open_) out_->push_back(cur_);
    open_ = false;
  }

 private:
  std::vector<Span>* out_;
  Span cur_{0, 0};
  bool open_ = false;
};

// The union of spans in any order, as disjoint sorted spans.
inline std::vector<Span> union_of(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.lo < b.lo; });
  std::vector<Span> out;
  UnionBuilder u(&out);
  for (const Span& s : spans) u.push(s.lo, s.hi);
  u.finish();
  return out;
}

inline double total_length(const std::vector<Span>& disjoint) {
  double t = 0;
  for (const Span& s : disjoint) t += s.hi - s.lo;
  return t;
}

// a ∩ b of two disjoint sorted lists.
inline std::vector<Span> intersect(const std::vector<Span>& a, const std::vector<Span>& b) {
  std::vector<Span> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    double lo = std::max(a[i].lo, b[j].lo), hi = std::min(a[i].hi, b[j].hi);
    if (hi > lo) out.push_back({lo, hi});
    if (a[i].hi < b[j].hi) ++i;
    else ++j;
  }
  return out;
}

inline double intersect_length(const std::vector<Span>& a, const std::vector<Span>& b) {
  double t = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    double lo = std::max(a[i].lo, b[j].lo), hi = std::min(a[i].hi, b[j].hi);
    if (hi > lo) t += hi - lo;
    if (a[i].hi < b[j].hi) ++i;
    else ++j;
  }
  return t;
}

// a \ b of two disjoint sorted lists.
inline std::vector<Span> subtract(const std::vector<Span>& a, const std::vector<Span>& b) {
  std::vector<Span> out;
  size_t j = 0;
  for (const Span& s : a) {
    double lo = s.lo;
    while (j < b.size() && b[j].hi <= lo) ++j;
    size_t k = j;
    while (k < b.size() && b[k].lo < s.hi) {
      if (b[k].lo > lo) out.push_back({lo, b[k].lo});
      lo = std::max(lo, b[k].hi);
      ++k;
    }
    if (s.hi > lo) out.push_back({lo, s.hi});
  }
  return out;
}

}  // namespace ff::intervals
