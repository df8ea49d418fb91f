// fireflyer._core.fs3: 3FS chain placement (placement.cpp).
#pragma once

#include "common/common.h"

namespace ff::fs3 {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::fs3
