// A streaming reader of Chrome / Kineto trace files: hands over the events of `traceEvents` one at a time,
// with the few fields fireflyer reads, while it checks the whole file is valid JSON in valid UTF-8.
//
// NOTE: why not a general JSON library. A DOM parser (simdjson, RapidJSON's Document, Python's json)
// needs the whole document in memory, several times its size once parsed; traces run to gigabytes, and
// `flyer trace analyze` must stay within a few hundred MiB on them. SAX readers that stream (RapidJSON's
// Reader) pay for every key and number of every nested `args` object. Trace events are flat objects with
// a handful of interesting keys, so this reader keeps one event's text in a refillable buffer, reads the
// keys it needs, and only validates (never converts) everything else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/source.h"

namespace ff::trace {

// One element of traceEvents. Views point into the scanner's buffer: valid until the next call to next().
struct Event {
  int64_t index = 0;  // position in traceEvents
  std::string_view ph, cat, name;
  std::string_view pid, tid;  // as written (numbers) or decoded (strings)
  bool pid_is_string = false, tid_is_string = false;
  bool has_ph = false, has_pid = false, has_tid = false;
  bool has_ts = false, has_dur = false;
  // ts = ts_int + ts_frac exactly as written (microseconds): the integer part apart, so that absolute
  // microsecond timestamps (1.7e15) keep their sub-microsecond digits.
  int64_t ts_int = 0;
  double ts_frac = 0;
  double dur = 0;
  std::string_view text;  // the event's JSON text
};

// Facts from the top level of the document (known once next() has returned false).
struct Header {
  bool has_rank = false, has_world_size = false, has_base_time = false;
  int64_t rank = 0, world_size = 0;
  int64_t base_time_ns = 0;  // baseTimeNanoseconds: ts are relative to it (current PyTorch)
  bool bare_array = false;   // the document is an array of events (Chrome's array form)
  int64_t events = 0;
  uint64_t events_end = 0;  // offset of the ']' closing traceEvents in the (decompressed) text
  uint64_t bytes = 0;       // bytes of (decompressed) text
};

// How a part of a file split for parallel reading starts and ends (the whole file: the defaults).
struct Part {
  bool first = true;   // starts at the document's start; else at an event of traceEvents (after a ',')
  bool last = true;    // ends at the document's end; else stops between two events (boundary())
  bool bare_array = false;  // for a part after the first: the document is an array of events
  uint64_t begin = 0;  // offset of the part in the text
};

class Scanner {
 public:
  explicit Scanner(ByteSource& src, Part part = {});
  // The next event, or false at the end of a valid document. Throws InputError for anything else.
  bool next(Event& ev);
  const Header& header() const { return header_; }
  // A part that is not the last ended cleanly between two events of traceEvents (next() returned false).
  bool boundary() const { return boundary_; }

 private:
  struct NeedMore {};
  enum class State { Start, Member, AfterMember, EventFirst, EventNext, End, Done };

  // Buffer management: runs `unit` from the current position; when it runs out of data, keeps the
  // unit's text, reads more and runs it again from its start.
  template <class F>
  void unit(F&& f);
  void refill(const char* keep);
  uint64_t offset(const char* q) const { return base_offset_ + static_cast<uint64_t>(q - base_); }

  std::string where(std::string_view key = {}) const;  // "traceEvents[12].ts", for errors
  [[noreturn]] void syntax(const char* q, const char* what) const;
  [[noreturn]] void truncated() const;
  char at(const char* q) const {
    if (q >= end_) throw NeedMore{};
    return *q;
  }
  void ws(const char*& q) const;
  void expect(const char*& q, char c, const char* what) const;

  const char* string_end(const char* q, bool* escaped) const;
  const char* string_rest(const char* q, bool* escaped) const;
  std::string_view string(const char*& q, std::string* scratch) const;
  const char* number_end(const char* q) const;
  void number(const char*& q, int64_t* int_part, double* frac, const char* field) const;
  void skip_value(const char*& q, int depth) const;
  // Object members: the key (decoded) with q moved to its value, and what follows a value.
  std::string_view member_key(const char*& q) const;
  bool more(const char*& q, char close) const;  // true at ',', false at `close`
  template <class F>
  void members(const char*& q, F&& value) const;  // value(key) reads the value at q
  void literal(const char*& q, const char* word) const;

  void top_member(const char*& q);
  void event(const char*& q, Event& ev);
  void distributed_info(const char*& q);

  Prefetcher chunks_;
  int chunk_id_ = -1;        // the prefetcher's buffer holding the text, or -1: own_ holds it
  std::vector<char> own_;    // the text of a unit longer than Prefetcher::kReserve
  const char* base_;         // first byte of text in memory
  const char* pos_;
  const char* end_;
  uint64_t base_offset_ = 0;  // offset of base_ in the text
  bool eof_ = false;
  State state_ = State::Start;
  bool saw_events_ = false;
  Header header_;
  int64_t event_index_ = 0;
  bool in_event_ = false;
  bool last_ = true, boundary_ = false;
  std::string context_;
  mutable std::string scratch_[6];
};

}  // namespace ff::trace
