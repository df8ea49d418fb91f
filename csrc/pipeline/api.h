// fireflyer._core.pipeline: schedule generation (schedules.cpp) and the event simulator (simulator.cpp).
#pragma once

#include "common/common.h"

namespace ff::pipeline {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::pipeline
