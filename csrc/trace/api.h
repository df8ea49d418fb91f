// fireflyer._core.trace: the streaming trace reader and the figures of trace files (scanner, source, analysis).
#pragma once

#include "common/common.h"

namespace ff::trace {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::trace
