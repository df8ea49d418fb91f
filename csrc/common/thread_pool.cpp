#include "common/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace ff {

int threads_available() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

void run_on_threads(int threads, const std::function<void(int)>& body) {
  std::vector<std::thread> pool;
  pool.reserve(std::max(0, threads - 1));
  for (int t = 1; t < threads; ++t) pool.emplace_back([&body, t] { body(t); });
  body(0);
  for (auto& th : pool) th.join();
}

void parallel_for(int n, const std::function<void(int)>& fn, int max_threads, int min_per_thread) {
  int limit = max_threads > 0 ? max_threads : threads_available();
  int nt = std::min(limit, std::max(1, n / std::max(1, min_per_thread)));
  if (nt <= 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  run_on_threads(nt, [&](int t) {
    for (int i = t; i < n; i += nt) fn(i);
  });
}

}  // namespace ff
