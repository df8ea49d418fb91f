// fireflyer._core.profiles: the machine probes of `flyer profiles detect` (detection.cpp).
#pragma once

#include "common/common.h"

namespace ff::profiles {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::profiles
