// Refusing, before allocating, what this machine cannot hold.
#pragma once

#include <cstdint>
#include <string>

namespace ff {

// Bytes of memory available to allocate now (MemAvailable on Linux), or -1 if unknown.
int64_t memory_available();

// Throws InputError naming `what` when `bytes` exceeds most of the available memory.
void check_fits(double bytes, const std::string& what, const char* field = "");

}  // namespace ff
