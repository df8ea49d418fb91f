// The metadata workload, in mdtest's pattern: every job creates its share of the files (spread over all
// directories), then all stat them, rename them within their directory, and delete them; each phase is
// timed from the moment all jobs start it to the moment the last one finishes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/thread_pool.h"
#include "fs3/bench/bench.h"

namespace ff::fs3::bench {
namespace {

constexpr int64_t kMaxFiles = int64_t(1) << 32;
constexpr int64_t kMaxFileBytes = int64_t(1) << 30;
const char* const kPhases[] = {"create", "stat", "rename", "delete"};
constexpr int kNumPhases = 4;

std::string dir_path(const std::string& root, int64_t d) {
  char name[32];
  std::snprintf(name, sizeof(name), "/d%06lld", static_cast<long long>(d));
  return root + name;
}

std::string file_path(const std::string& dir, char prefix, int64_t i) {
  char name[32];
  std::snprintf(name, sizeof(name), "/%c%010lld", prefix, static_cast<long long>(i));
  return dir + name;
}

void one_op(int phase, const std::string& dir, int64_t i, const char* payload, int64_t file_bytes) {
  const std::string original = file_path(dir, 'f', i);
  switch (phase) {
    case 0: {
      int fd = ::open(original.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) os_fail("cannot create", original, errno);
      for (int64_t off = 0; off < file_bytes;) {
        ssize_t w = ::write(fd, payload + off, static_cast<size_t>(file_bytes - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          int err = errno;
          ::close(fd);
          os_fail("cannot write", original, err);
        }
        off += w;
      }
      if (::close(fd) != 0) os_fail("cannot close", original, errno);
      break;
    }
    case 1: {
      struct stat st;
      if (::stat(original.c_str(), &st) != 0) os_fail("cannot stat", original, errno);
      break;
    }
    case 2: {
      const std::string renamed = file_path(dir, 'r', i);
      if (::rename(original.c_str(), renamed.c_str()) != 0) os_fail("cannot rename", original, errno);
      break;
    }
    default: {
      const std::string renamed = file_path(dir, 'r', i);
      if (::unlink(renamed.c_str()) != 0) os_fail("cannot delete", renamed, errno);
    }
  }
}

}  // namespace

std::vector<MetaPhase> run_metadata(const std::string& root, int64_t files, int64_t dirs, int64_t jobs,
                                    int64_t file_bytes, const nb::object& progress) {
  FF_CHECK_FIELD(jobs >= 1 && jobs <= kMaxJobs, "jobs", "must be between 1 and " << kMaxJobs << ", got " << jobs);
  FF_CHECK_FIELD(files >= jobs && files <= kMaxFiles, "files",
                 "must be at least one per job (" << jobs << ") and at most " << kMaxFiles << ", got " << files);
  FF_CHECK_FIELD(dirs >= 1 && dirs <= files, "dirs", "must be between 1 and the number of files, got " << dirs);
  FF_CHECK_FIELD(file_bytes >= 0 && file_bytes <= kMaxFileBytes, "file_bytes",
                 "must be between 0 and 1 GiB, got " << file_bytes);
  for (int64_t d = 0; d < dirs; ++d) {
    const std::string path = dir_path(root, d);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) os_fail("cannot create directory", path, errno);
  }
  std::vector<char> payload(static_cast<size_t>(std::max<int64_t>(file_bytes, 1)), 'x');
  const int nj = static_cast<int>(jobs);
  std::vector<std::vector<Reservoir>> lat(kNumPhases);
  for (int p = 0; p < kNumPhases; ++p)
    for (int j = 0; j < nj; ++j) lat[p].emplace_back(std::max<size_t>(1, kLatencyCap / nj), 31u * p + 7919u * j);
  std::vector<std::vector<Clock::time_point>> starts(kNumPhases, std::vector<Clock::time_point>(nj));
  std::vector<std::vector<Clock::time_point>> ends(kNumPhases, std::vector<Clock::time_point>(nj));
  std::atomic<int64_t> done{0};
  Runner runner;
  Barrier phase_barrier(nj);
  auto body = [&](int j) {
    const int64_t lo = files * j / jobs, hi = files * (j + 1) / jobs;
    for (int p = 0; p < kNumPhases; ++p) {
      phase_barrier.wait();  // NOTE: every job reaches every barrier, even after a failure, so none hangs
      starts[p][j] = Clock::now();
      for (int64_t i = lo; i < hi && !runner.stop.load(std::memory_order_relaxed); ++i) {
        const auto t0 = Clock::now();
        try {
          one_op(p, dir_path(root, i % dirs), i, payload.data(), file_bytes);
        } catch (...) {
          runner.fail(std::current_exception());
          break;
        }
        const auto t1 = Clock::now();
        lat[p][j].offer(seconds_between(t0, t1));
        done.fetch_add(1, std::memory_order_relaxed);
      }
      ends[p][j] = Clock::now();
    }
  };
  Tick tick;
  if (!progress.is_none()) tick = [&] { progress("metadata", done.load(std::memory_order_relaxed), kNumPhases * files); };
  {
    nb::gil_scoped_release release;
    runner.run(nj, body, tick);
  }
  for (int64_t d = 0; d < dirs; ++d) ::rmdir(dir_path(root, d).c_str());
  std::vector<MetaPhase> out(kNumPhases);
  for (int p = 0; p < kNumPhases; ++p) {
    out[p].name = kPhases[p];
    out[p].ops = files;
    out[p].seconds = seconds_between(*std::min_element(starts[p].begin(), starts[p].end()),
                                     *std::max_element(ends[p].begin(), ends[p].end()));
    out[p].latency_s = gather(lat[p]);
  }
  return out;
}

}  // namespace ff::fs3::bench
