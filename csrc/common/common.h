// The core's common layer: one error vocabulary. Array views, the thread pool, memory checks and
// interval algebra live beside this header (arrays.h, thread_pool.h, memory.h, intervals.h).
#pragma once

#include <nanobind/nanobind.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace nb = nanobind;

namespace ff {

// Bad input found by the core. bindings.cpp registers a translator, so it reaches Python as
// fireflyer.errors.InputError (exit 2 in the CLI) with its message and, where given, the field and the
// file (for routines that read files themselves, several at once).
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& msg, std::string field = {}, std::string file = {})
      : std::runtime_error(msg), field_(std::move(field)), file_(std::move(file)) {}
  const std::string& field() const { return field_; }
  const std::string& file() const { return file_; }

 private:
  std::string field_;
  std::string file_;
};

// FF_CHECK(cond, msg): throw InputError(msg) unless cond. Write cond as what must hold, so that NaN fails it.
// msg may use stream syntax: FF_CHECK(n > 0, "n must be positive, got " << n).
#define FF_CHECK(cond, msg) FF_CHECK_FIELD(cond, "", msg)

// FF_CHECK_FIELD(cond, field, msg): the same, naming the argument or field at fault (e.g. "ranks").
#define FF_CHECK_FIELD(cond, field, msg)           \
  do {                                             \
    if (!(cond)) {                                 \
      std::ostringstream ff_check_os_;             \
      ff_check_os_ << msg;                         \
      throw ::ff::InputError(ff_check_os_.str(), field); \
    }                                              \
  } while (0)

// Registers the InputError translator (called once, from bindings.cpp).
void register_errors(nb::module_ m);

}  // namespace ff
