#include "fs3/bench/jobs.h"

#include <Python.h>

#include "common/thread_pool.h"

namespace ff::fs3::bench {

void Runner::watch(const Tick& tick) {
  nb::gil_scoped_acquire gil;
  // NOTE: signal handlers run only here, on the calling (main) thread; a KeyboardInterrupt they raise
  // stops the jobs so the caller can remove what they wrote.
  if (PyErr_CheckSignals() != 0) {
    try {
      throw nb::python_error();
    } catch (...) {
      fail(std::current_exception());
    }
    return;
  }
  if (!tick) return;
  try {
    tick();
  } catch (...) {
    fail(std::current_exception());
  }
}

void Runner::run(int jobs, const std::function<void(int)>& body, const Tick& tick) {
  running_ = jobs;
  ff::run_on_threads(jobs + 1, [&](int t) {
    if (t > 0) {
      try {
        body(t - 1);
      } catch (...) {
        fail(std::current_exception());
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (--running_ == 0) done_cv_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    while (running_ > 0) {
      done_cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (running_ == 0) break;
      lock.unlock();
      watch(tick);
      lock.lock();
    }
  });
  if (!error_) watch(tick);  // the last progress, and a signal that arrived at the very end
  if (error_) std::rethrow_exception(error_);
}

}  // namespace ff::fs3::bench
