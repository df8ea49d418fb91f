// EPLB solvers (filled in by the eplb work).
#include "common.h"

void register_eplb(nb::module_ m) { (void)m; }
