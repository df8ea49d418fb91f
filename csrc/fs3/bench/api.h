// fireflyer._core.fs3.bench: the file-system benchmark loops (io_engine.cpp, metadata.cpp, records.cpp).
#pragma once

#include "common/common.h"

namespace ff::fs3::bench {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::fs3::bench
