// fireflyer._core.eplb: the EPLB solvers (solver.cpp, deepseek.cpp, migrate.cpp).
#pragma once

#include "common/common.h"

namespace ff::eplb {

// Checks its inputs and registers the domain's functions and classes in `m`.
void register_api(nb::module_ m);

}  // namespace ff::eplb
