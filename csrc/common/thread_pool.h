// The one way the core runs work on several threads.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

namespace ff {

// Threads this process may run on (its CPU affinity), at least 1.
int threads_available();

// Runs body(t) for t in [0, threads) concurrently, the caller being thread 0; returns when all are done.
// Every thread runs at once, so bodies may meet at a barrier (the bandwidth probe does).
void run_on_threads(int threads, const std::function<void(int)>& body);

// Runs fn(i) for i in [0, n) on up to max_threads threads (0: threads_available()), at least
// min_per_thread items per thread; each i must be independent of the others.
void parallel_for(int n, const std::function<void(int)>& fn, int max_threads = 0, int min_per_thread = 16);

// A reusable barrier for `n` threads of one run_on_threads call that sleeps while it waits (for threads
// that may outnumber the cores, e.g. I/O jobs; the compute probes spin instead).
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const long gen = generation_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }

 private:
  const int n_;
  int waiting_ = 0;
  long generation_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace ff
