#include "common/memory.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/common.h"

namespace ff {

int64_t memory_available() {
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    long long kb = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
    std::fclose(f);
    if (kb >= 0) return static_cast<int64_t>(kb) * 1024;
  }
  long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : -1;
}

void check_fits(double bytes, const std::string& what, const char* field) {
  const int64_t avail = memory_available();
  // NOTE: 80% of what is available: the interpreter and the arrays returned to it need room too.
  const double limit = avail > 0 ? 0.8 * static_cast<double>(avail) : 1e18;
  FF_CHECK_FIELD(bytes <= limit, field,
                 what << " needs about " << bytes / (1 << 30) << " GiB of memory; this machine has "
                      << static_cast<double>(avail) / (1 << 30) << " GiB available");
}

}  // namespace ff
