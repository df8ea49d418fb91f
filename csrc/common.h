// Shared helpers for the fireflyer core: one error vocabulary and array views.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace nb = nanobind;

namespace ff {

// FF_CHECK(cond, msg): raise a Python ValueError carrying msg when cond fails.
// msg may use stream syntax: FF_CHECK(n > 0, "n must be positive, got " << n).
#define FF_CHECK(cond, msg)                                  \
  do {                                                       \
    if (!(cond)) {                                           \
      std::ostringstream ff_check_os_;                       \
      ff_check_os_ << msg;                                   \
      throw nb::value_error(ff_check_os_.str().c_str());     \
    }                                                        \
  } while (0)

}  // namespace ff
