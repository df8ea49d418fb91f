// fireflyer._core.intervals: the interval algebra of common/intervals.h on (starts, ends) arrays.
#pragma once

#include "common/common.h"

namespace ff::intervals {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::intervals
