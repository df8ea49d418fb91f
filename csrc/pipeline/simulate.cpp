// Pipeline schedule generators and event simulator (filled in by the pipeline work).
#include "common.h"

void register_pipeline(nb::module_ m) { (void)m; }
