// NOTE: over 600 lines on purpose: one class whose hot inline paths (string_end, number_end, members) share a unit.
#include "trace/scanner.h"

#include <charconv>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/common.h"

namespace ff::trace {

namespace {

constexpr size_t kPad = Prefetcher::kPad;  // zero bytes after the data: vector loads and the end sentinel
constexpr int kMaxDepth = 64;       // as fireflyer.io.MAX_DEPTH

constexpr double kPow10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                               1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Mask of the first 16 bytes at q that need a look inside a string: '"', '\\', control characters
// and every byte of a multi-byte UTF-8 sequence (>= 0x80 reads as negative, so below 0x20 too).
#if defined(__SSE2__)
inline unsigned special16(const char* q) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  const __m128i hit =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)), _mm_cmplt_epi8(v, space));
  return static_cast<unsigned>(_mm_movemask_epi8(hit));
}
#endif

inline bool special_byte(unsigned char c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80; }

}  // namespace

Scanner::Scanner(ByteSource& src, Part part) : chunks_(src), own_(kPad, 0), last_(part.last) {
  base_ = pos_ = end_ = own_.data();
  base_offset_ = part.begin;
  if (!part.first) {
    state_ = State::EventNext;
    saw_events_ = true;
    header_.bare_array = part.bare_array;
  }
}

void Scanner::refill(const char* keep) {
  const size_t tail = static_cast<size_t>(end_ - keep);
  Prefetcher::Chunk c = chunks_.next();
  if (c.size == 0) {  // the end: the text in memory is all there is
    eof_ = true;
    return;
  }
  header_.bytes += c.size;
  base_offset_ += static_cast<uint64_t>(keep - base_);
  char* start;
  if (tail <= Prefetcher::kReserve) {
    // The unfinished unit goes in front of the new chunk: no copy of the chunk itself.
    start = c.data - tail;
    std::memcpy(start, keep, tail);
    chunks_.release(chunk_id_);
    chunk_id_ = c.id;
    end_ = c.data + c.size;
  } else {
    // A unit longer than the reserve (a huge event or top-level value): one buffer of our own.
    std::vector<char> joined(tail + c.size + kPad);
    std::memcpy(joined.data(), keep, tail);
    std::memcpy(joined.data() + tail, c.data, c.size);
    chunks_.release(chunk_id_);
    chunks_.release(c.id);
    chunk_id_ = -1;
    own_.swap(joined);
    start = own_.data();
    end_ = start + tail + c.size;
  }
  std::memset(const_cast<char*>(end_), 0, kPad);
  base_ = pos_ = start;
}

template <class F>
void Scanner::unit(F&& f) {
  for (;;) {
    const char* q = pos_;
    try {
      f(q);
      pos_ = q;
      return;
    } catch (NeedMore&) {
      if (eof_) truncated();
      refill(pos_);
    }
  }
}

std::string Scanner::where(std::string_view key) const {
  std::string w = in_event_ ? "traceEvents[" + std::to_string(event_index_) + "]" : context_;
  if (!key.empty()) w += (w.empty() ? "" : ".") + std::string(key);
  return w;
}

void Scanner::syntax(const char* q, const char* what) const {
  std::string w = where();
  FF_CHECK(false, "not valid JSON: " << what << (w.empty() ? "" : " in ") << w << " (byte " << offset(q) << ")");
  __builtin_unreachable();
}

void Scanner::truncated() const {
  if (header_.bytes == 0 || state_ == State::Start)
    FF_CHECK(false, "the file is empty: expected a trace (a JSON object with traceEvents)");
  std::string w = where();
  FF_CHECK(false, "truncated: the file ends inside " << (w.empty() ? "the JSON document" : w) << " (after byte "
                                                      << header_.bytes << ")");
  __builtin_unreachable();
}

void Scanner::ws(const char*& q) const {
  // The zero bytes after the data stop this loop; callers then read with at(), which asks for more.
  for (;;) {
    char c = *q;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') ++q;
    else return;
  }
}

void Scanner::expect(const char*& q, char c, const char* what) const {
  if (at(q) != c) syntax(q, what);
  ++q;
}

// The common case inline: a string of plain ASCII ends at the first quote found 16 bytes at a time.
inline __attribute__((always_inline)) const char* Scanner::string_end(const char* q, bool* escaped) const {
  ++q;  // the opening quote
#if defined(__SSE2__)
  for (;;) {
    const unsigned m = special16(q);
    if (m == 0) {
      q += 16;
      continue;
    }
    q += __builtin_ctz(m);
    if (*q == '"' && q < end_) return q + 1;
    return string_rest(q, escaped);
  }
#else
  return string_rest(q, escaped);
#endif
}

// From a byte that needs a look (an escape, a multi-byte character, a control character, the data's end)
// to the end of the string.
const char* Scanner::string_rest(const char* q, bool* escaped) const {
  for (;;) {
#if defined(__SSE2__)
    unsigned m = special16(q);
    if (m == 0) {
      q += 16;
      continue;
    }
    q += __builtin_ctz(m);
#else
    while (!special_byte(static_cast<unsigned char>(*q))) ++q;
#endif
    const unsigned char c = static_cast<unsigned char>(at(q));
    if (c == '"') return q + 1;
    if (c == '\\') {
      const char e = at(q + 1);
      if (e == 'u') {
        for (int k = 2; k < 6; ++k)
          if (hex_value(at(q + k)) < 0) syntax(q, "invalid \\u escape in a string");
        q += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                 e == 't') {
        q += 2;
      } else {
        syntax(q, "invalid escape in a string");
      }
      if (escaped) *escaped = true;
      continue;
    }
    if (c < 0x20) syntax(q, "control character in a string");
    // A multi-byte UTF-8 sequence: check it is well formed (no overlong forms, surrogates or > U+10FFFF).
    FF_CHECK(c >= 0xC2 && c < 0xF5, "not UTF-8 text (byte " << offset(q) << ")");
    bool ok = false;
    int len = 0;
    const unsigned char b1 = static_cast<unsigned char>(at(q + 1));
    if (c < 0xE0) {
      ok = (b1 & 0xC0) == 0x80, len = 2;
    } else if (c < 0xF0) {
      const unsigned char b2 = static_cast<unsigned char>(at(q + 2));
      ok = (b1 & 0xC0) == 0x80 && (b2 & 0xC0) == 0x80 && !(c == 0xE0 && b1 < 0xA0) && !(c == 0xED && b1 > 0x9F);
      len = 3;
    } else {
      const unsigned char b2 = static_cast<unsigned char>(at(q + 2)), b3 = static_cast<unsigned char>(at(q + 3));
      ok = (b1 & 0xC0) == 0x80 && (b2 & 0xC0) == 0x80 && (b3 & 0xC0) == 0x80 && !(c == 0xF0 && b1 < 0x90) &&
           !(c == 0xF4 && b1 > 0x8F);
      len = 4;
    }
    FF_CHECK(ok, "not UTF-8 text (byte " << offset(q) << ")");
    q += len;
  }
}

std::string_view Scanner::string(const char*& q, std::string* scratch) const {
  bool escaped = false;
  const char* start = q + 1;
  const char* end = string_end(q, &escaped);
  q = end;
  if (!escaped) return {start, static_cast<size_t>(end - 1 - start)};
  scratch->clear();
  for (const char* s = start; s < end - 1;) {
    if (*s != '\\') {
      scratch->push_back(*s++);
      continue;
    }
    const char e = s[1];
    s += 2;
    switch (e) {
      case 'b': scratch->push_back('\b'); break;
      case 'f': scratch->push_back('\f'); break;
      case 'n': scratch->push_back('\n'); break;
      case 'r': scratch->push_back('\r'); break;
      case 't': scratch->push_back('\t'); break;
      case 'u': {
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) cp = cp * 16 + static_cast<uint32_t>(hex_value(s[k]));
        s += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && s[0] == '\\' && s[1] == 'u') {
          uint32_t lo = 0;
          bool hex = true;
          for (int k = 0; k < 4; ++k) hex = hex && hex_value(s[2 + k]) >= 0;
          if (hex) {
            for (int k = 0; k < 4; ++k) lo = lo * 16 + static_cast<uint32_t>(hex_value(s[2 + k]));
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              s += 6;
            }
          }
        }
        if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // NOTE: a lone surrogate has no UTF-8 form
        append_utf8(*scratch, cp);
        break;
      }
      default: scratch->push_back(e);  // '"', '\\', '/'
    }
  }
  return *scratch;
}

inline __attribute__((always_inline)) const char* Scanner::number_end(const char* q) const {
  if (at(q) == '-') ++q;
  char c = at(q);
  if (c == '0') {
    ++q;
  } else if (c >= '1' && c <= '9') {
    while (is_digit(at(q))) ++q;
  } else {
    syntax(q, "expected a value");
  }
  if (at(q) == '.') {
    ++q;
    if (!is_digit(at(q))) syntax(q, "expected a digit after the decimal point");
    while (is_digit(at(q))) ++q;
  }
  c = at(q);
  if (c == 'e' || c == 'E') {
    ++q;
    c = at(q);
    if (c == '+' || c == '-') ++q;
    if (!is_digit(at(q))) syntax(q, "expected a digit in the exponent");
    while (is_digit(at(q))) ++q;
  }
  return q;
}

void Scanner::number(const char*& q, int64_t* int_part, double* frac, const char* field) const {
  const char* start = q;
  const bool neg = at(q) == '-';
  if (neg) ++q;
  if (!is_digit(at(q))) {
    const char* what = at(q) == '"' ? "expected a number, got a string" : "expected a number";
    FF_CHECK_FIELD(false, where(field), what);
  }
  uint64_t i = 0;
  int int_digits = 0;
  if (at(q) == '0') {
    ++q;
  } else {
    while (is_digit(at(q))) {
      i = i * 10 + static_cast<uint64_t>(*q - '0');
      ++int_digits;
      ++q;
    }
  }
  uint64_t f = 0;
  int frac_digits = 0;
  if (at(q) == '.') {
    ++q;
    if (!is_digit(at(q))) syntax(q, "expected a digit after the decimal point");
    while (is_digit(at(q))) {
      if (frac_digits < 18) {
        f = f * 10 + static_cast<uint64_t>(*q - '0');
        ++frac_digits;
      }
      ++q;
    }
  }
  const char c = at(q);
  if (c == 'e' || c == 'E' || int_digits > 18) {
    q = number_end(start);
    double v = 0;
    auto res = std::from_chars(start, q, v);
    FF_CHECK_FIELD(res.ec == std::errc() && std::isfinite(v) && std::fabs(v) < 9e18, where(field),
                   "is not a finite number within range");
    const double t = std::trunc(v);
    *int_part = static_cast<int64_t>(t);
    *frac = v - t;
    return;
  }
  const double fv = frac_digits ? static_cast<double>(f) / kPow10[frac_digits] : 0.0;
  *int_part = neg ? -static_cast<int64_t>(i) : static_cast<int64_t>(i);
  *frac = neg ? -fv : fv;
}

void Scanner::literal(const char*& q, const char* word) const {
  for (const char* w = word; *w; ++w, ++q)
    if (at(q) != *w) syntax(q, "expected a value");
}

std::string_view Scanner::member_key(const char*& q) const {
  if (at(q) != '"') syntax(q, "expected a key");
  const std::string_view key = string(q, &scratch_[5]);
  ws(q);
  expect(q, ':', "expected ':' after a key");
  ws(q);
  return key;
}

bool Scanner::more(const char*& q, char close) const {
  ws(q);
  const char s = at(q);
  ++q;
  if (s == ',') {
    ws(q);
    return true;
  }
  if (s != close) syntax(q - 1, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
  return false;
}

template <class F>
void Scanner::members(const char*& q, F&& value) const {
  ++q;  // the '{'
  ws(q);
  if (at(q) == '}') {
    ++q;
    return;
  }
  do value(member_key(q));
  while (more(q, '}'));
}

void Scanner::skip_value(const char*& q, int depth) const {
  if (depth > kMaxDepth) {
    FF_CHECK(false, "nested deeper than " << kMaxDepth << " levels (byte " << offset(q) << ")");
  }
  const char c = at(q);
  switch (c) {
    case '"': q = string_end(q, nullptr); return;
    case '{':
      members(q, [&](std::string_view) { skip_value(q, depth + 1); });
      return;
    case '[':
      ++q;
      ws(q);
      if (at(q) == ']') {
        ++q;
        return;
      }
      do skip_value(q, depth + 1);
      while (more(q, ']'));
      return;
    case 't': literal(q, "true"); return;
    case 'f': literal(q, "false"); return;
    case 'n': literal(q, "null"); return;
    default: q = number_end(q);
  }
}

void Scanner::event(const char*& q, Event& ev) {
  const char* start = q;
  ev = Event{};
  ev.index = event_index_;
  if (at(q) != '{') FF_CHECK_FIELD(false, where(), "expected an event object");
  bool has_cat = false, has_name = false;
  members(q, [&](std::string_view key) {
    const char c = at(q);
    auto once = [&](bool& seen) {
      FF_CHECK_FIELD(!seen, where(), "duplicate key '" << key << "'");
      seen = true;
    };
    auto text = [&](std::string_view& out, std::string* scratch, bool& seen) {
      once(seen);
      if (c != '"') FF_CHECK_FIELD(false, where(key), "expected a string");
      out = string(q, scratch);
    };
    auto id = [&](std::string_view& out, bool& is_string, std::string* scratch, bool& seen) {
      once(seen);
      if (c == '"') {
        out = string(q, scratch);
        is_string = true;
      } else if (c == '-' || is_digit(c)) {
        const char* e = number_end(q);
        out = {q, static_cast<size_t>(e - q)};
        q = e;
      } else {
        FF_CHECK_FIELD(false, where(key), "expected a number or a string");
      }
    };
    bool known = true;
    switch (key.size()) {
      case 2:
        if (key[0] == 'p' && key[1] == 'h') text(ev.ph, &scratch_[0], ev.has_ph);
        else if (key[0] == 't' && key[1] == 's') once(ev.has_ts), number(q, &ev.ts_int, &ev.ts_frac, "ts");
        else known = false;
        break;
      case 3:
        if (std::memcmp(key.data(), "cat", 3) == 0) {
          text(ev.cat, &scratch_[1], has_cat);
        } else if (std::memcmp(key.data(), "pid", 3) == 0) {
          id(ev.pid, ev.pid_is_string, &scratch_[3], ev.has_pid);
        } else if (std::memcmp(key.data(), "tid", 3) == 0) {
          id(ev.tid, ev.tid_is_string, &scratch_[4], ev.has_tid);
        } else if (std::memcmp(key.data(), "dur", 3) == 0) {
          once(ev.has_dur);
          int64_t whole = 0;
          double frac = 0;
          number(q, &whole, &frac, "dur");
          ev.dur = static_cast<double>(whole) + frac;
        } else {
          known = false;
        }
        break;
      case 4:
        if (std::memcmp(key.data(), "name", 4) == 0) text(ev.name, &scratch_[2], has_name);
        else known = false;
        break;
      default: known = false;
    }
    if (!known) skip_value(q, 3);
  });
  ev.text = {start, static_cast<size_t>(q - start)};
}

void Scanner::distributed_info(const char*& q) {
  if (at(q) != '{') {
    skip_value(q, 1);
    return;
  }
  bool has_rank = false, has_world = false;
  int64_t rank = 0, world = 0;
  members(q, [&](std::string_view key) {
    const char c = at(q);
    if ((key == "rank" || key == "world_size") && (c == '-' || is_digit(c))) {
      int64_t v = 0;
      double frac = 0;
      context_ = "distributedInfo";
      number(q, &v, &frac, key == "rank" ? "rank" : "world_size");
      context_.clear();
      FF_CHECK_FIELD(frac == 0 && v >= 0, "distributedInfo." + std::string(key), "expected a whole number >= 0");
      if (key == "rank") has_rank = true, rank = v;
      else has_world = true, world = v;
    } else {
      skip_value(q, 2);
    }
  });
  header_.has_rank = has_rank, header_.rank = rank;
  header_.has_world_size = has_world, header_.world_size = world;
}

void Scanner::top_member(const char*& q) {
  const std::string_view key = member_key(q);
  if (key == "traceEvents") {
    FF_CHECK(!saw_events_, "duplicate key 'traceEvents'");
    if (at(q) != '[') FF_CHECK_FIELD(false, "traceEvents", "expected an array of events");
    ++q;
    saw_events_ = true;
    state_ = State::EventFirst;
    return;
  }
  if (key == "distributedInfo") {
    distributed_info(q);
  } else if (key == "baseTimeNanoseconds" && (at(q) == '-' || is_digit(at(q)))) {
    double frac = 0;
    number(q, &header_.base_time_ns, &frac, "baseTimeNanoseconds");
    header_.has_base_time = true;
  } else {
    skip_value(q, 1);
  }
  state_ = State::AfterMember;
}

bool Scanner::next(Event& ev) {
  for (;;) {
    switch (state_) {
      case State::Start:
        unit([&](const char*& q) {
          ws(q);
          const char c = at(q);
          if (c == '{') {
            ++q;
            ws(q);
            if (at(q) == '}') {
              ++q;
              state_ = State::End;
            } else {
              state_ = State::Member;
            }
          } else if (c == '[') {
            ++q;
            header_.bare_array = true;
            saw_events_ = true;
            state_ = State::EventFirst;
          } else {
            FF_CHECK(false, "not a trace: expected a JSON object with traceEvents, found "
                                << (c == '"' || c == '-' || is_digit(c) || c == 't' || c == 'f' || c == 'n'
                                        ? "another JSON value"
                                        : "text that is not JSON")
                                << " (byte " << offset(q) << ")");
          }
        });
        break;
      case State::Member:
        unit([&](const char*& q) {
          ws(q);
          top_member(q);
        });
        break;
      case State::AfterMember:
        unit([&](const char*& q) {
          ws(q);
          const char c = at(q);
          ++q;
          if (c == ',') state_ = State::Member;
          else if (c == '}') state_ = State::End;
          else syntax(q - 1, "expected ',' or '}'");
        });
        break;
      case State::EventFirst:
        unit([&](const char*& q) {
          ws(q);
          if (at(q) == ']') {
            header_.events_end = offset(q);
            ++q;
            state_ = header_.bare_array ? State::End : State::AfterMember;
          } else {
            state_ = State::EventNext;
          }
        });
        break;
      case State::EventNext: {
        if (!last_) {  // a part stops between events when its bytes end there
          for (;;) {
            const char* q = pos_;
            ws(q);
            pos_ = q;
            if (q < end_) break;
            if (eof_) {
              boundary_ = true;
              state_ = State::Done;
              return false;
            }
            refill(pos_);
          }
        }
        in_event_ = true;
        unit([&](const char*& q) {
          ws(q);
          event(q, ev);
          ws(q);
          const char c = at(q);
          if (c == ',') {
            ++q;
          } else if (c == ']') {
            header_.events_end = offset(q);
            ++q;
            state_ = header_.bare_array ? State::End : State::AfterMember;
          } else {
            syntax(q, "expected ',' or ']' after an event");
          }
        });
        in_event_ = false;
        ++event_index_;
        header_.events = event_index_;
        return true;
      }
      case State::End: {
        for (;;) {
          const char* q = pos_;
          ws(q);
          pos_ = q;
          if (q < end_) syntax(q, "data after the end of the JSON document");
          if (eof_) break;
          refill(pos_);
        }
        FF_CHECK(saw_events_, "not a trace: a JSON object without traceEvents");
        FF_CHECK(header_.events > 0, "traceEvents is empty: the trace holds no events");
        state_ = State::Done;
        return false;
      }
      case State::Done: return false;
    }
  }
}

}  // namespace ff::trace
