// The built-in I/O engine: fio's libaio jobs without fio. One file per job, `iodepth` I/Os in flight
// through Linux native AIO, O_DIRECT on page-aligned buffers, per-I/O latency from submission to
// completion. Read files are laid out first (and dropped from the page cache); write files start empty
// and are fsynced at the end, inside the timed phase, as fio's end_fsync=1 does.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include "common/memory.h"
#include "common/thread_pool.h"
#include "fs3/bench/bench.h"

namespace ff::fs3::bench {
namespace {

constexpr int64_t kMaxDepth = 1024;
constexpr int64_t kMaxBlock = int64_t(1) << 30;
constexpr int64_t kDirectAlign = 4096;
constexpr int64_t kLayoutChunk = int64_t(1) << 20;

// Linux native AIO through its system calls, so no libaio is needed at build or run time.
long sys_io_setup(unsigned n, aio_context_t* ctx) { return syscall(SYS_io_setup, n, ctx); }
long sys_io_destroy(aio_context_t ctx) { return syscall(SYS_io_destroy, ctx); }
long sys_io_submit(aio_context_t ctx, long n, iocb** cbs) { return syscall(SYS_io_submit, ctx, n, cbs); }
long sys_io_getevents(aio_context_t ctx, long lo, long hi, io_event* ev, timespec* timeout) {
  return syscall(SYS_io_getevents, ctx, lo, hi, ev, timeout);
}

class Fd {
 public:
  Fd(const std::string& path, int flags, const char* what) : path_(path) {
    fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd_ < 0) os_fail(what, path, errno);
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

class AioContext {
 public:
  explicit AioContext(unsigned depth) {
    if (sys_io_setup(depth, &ctx_) != 0) {
      int err = errno;
      if (err == EAGAIN)
        throw InputError("io_setup: the kernel's limit on AIO requests (fs.aio-max-nr) is reached; "
                         "lower --jobs or --iodepth");
      os_fail("io_setup for", "the I/O engine", err);
    }
  }
  // NOTE: io_destroy cancels or waits for I/Os still in flight, so buffers outlive them.
  ~AioContext() { sys_io_destroy(ctx_); }
  AioContext(const AioContext&) = delete;
  AioContext& operator=(const AioContext&) = delete;
  aio_context_t get() const { return ctx_; }

 private:
  aio_context_t ctx_ = 0;
};

// A pseudo-random bijection of [0, n): a 4-round Feistel network on the smallest domain of an even
// number of bits holding n, with cycle walking. Every block is touched once, as fio's random map does,
// in O(1) memory for any file size.
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t seed) : n_(n) {
    int bits = 2;
    while (bits < 64 && (uint64_t(1) << bits) < n) bits += 2;
    half_ = bits / 2;
    mask_ = (uint64_t(1) << half_) - 1;
    SplitMix64 rng(seed);
    for (auto& k : keys_) k = rng.next();
  }
  uint64_t operator()(uint64_t i) const {
    uint64_t x = i;
    do {
      x = encrypt(x);
    } while (x >= n_);
    return x;
  }

 private:
  uint64_t encrypt(uint64_t x) const {
    uint64_t l = x >> half_, r = x & mask_;
    for (uint64_t k : keys_) {
      uint64_t f = (r + k) * 0x9E3779B97F4A7C15ull;
      f ^= f >> 29;
      uint64_t next = l ^ (f & mask_);
      l = r;
      r = next;
    }
    return (l << half_) | r;
  }

  uint64_t n_;
  int half_;
  uint64_t mask_;
  uint64_t keys_[4];
};

void fill_random(char* p, size_t n, uint64_t seed) {
  SplitMix64 rng(seed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng.next();
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(rng.next());
}

// Writes `bytes` of random data, fsyncs, and drops the file from the page cache (fio's invalidate=1),
// so the timed reads come from the file system, not from memory.
void lay_out(const std::string& path, int64_t bytes, uint64_t seed, std::atomic<int64_t>& done,
             const std::atomic<bool>& stop) {
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC, "cannot create");
  AlignedBuffer buf(kLayoutChunk);
  fill_random(buf.data(), buf.size(), seed);
  for (int64_t off = 0; off < bytes && !stop.load(std::memory_order_relaxed);) {
    size_t n = static_cast<size_t>(std::min<int64_t>(kLayoutChunk, bytes - off));
    ssize_t w = ::pwrite(fd.get(), buf.data(), n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      os_fail("cannot write", path, errno);
    }
    off += w;
    done.fetch_add(w, std::memory_order_relaxed);
  }
  if (::fsync(fd.get()) != 0) os_fail("cannot fsync", path, errno);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
}

struct JobClock {
  Clock::time_point start, end;
};

// One job's timed phase: keep `depth` I/Os in flight until every block is done, the runtime is up, or
// the run is stopped; then drain what is in flight.
void timed_job(Fd& fd, AioContext& aio, AlignedBuffer& buf, const IoSpec& spec, int64_t file_bytes, bool write,
               bool random, uint64_t seed, Runner& runner, std::atomic<int64_t>& done, Reservoir& lat,
               JobClock& clock, int64_t& bytes, int64_t& ops) {
  const int depth = static_cast<int>(spec.iodepth);
  const int64_t block = spec.block;
  const uint64_t nblocks = static_cast<uint64_t>(file_bytes / block);
  Permutation perm(nblocks, seed);
  std::vector<iocb> cbs(depth);
  std::vector<Clock::time_point> issued(depth);
  std::vector<iocb*> ready;
  std::vector<int> idle;
  std::vector<io_event> events(depth);
  ready.reserve(depth);
  for (int s = depth - 1; s >= 0; --s) idle.push_back(s);
  for (int s = 0; s < depth; ++s) {
    std::memset(&cbs[s], 0, sizeof(iocb));
    cbs[s].aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
    cbs[s].aio_fildes = static_cast<uint32_t>(fd.get());
    cbs[s].aio_buf = reinterpret_cast<uint64_t>(buf.data() + static_cast<size_t>(s) * block);
    cbs[s].aio_nbytes = static_cast<uint64_t>(block);
    cbs[s].aio_data = static_cast<uint64_t>(s);
  }
  uint64_t next = 0;
  int inflight = 0;
  clock.start = Clock::now();
  const auto deadline = clock.start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(spec.runtime > 0 ? spec.runtime : 1e9));
  for (;;) {
    const bool halt = runner.stop.load(std::memory_order_relaxed) || (spec.runtime > 0 && Clock::now() >= deadline);
    if (halt) ready.clear(), next = nblocks;
    while (!idle.empty() && next < nblocks) {
      int s = idle.back();
      idle.pop_back();
      uint64_t index = random ? perm(next) : next;
      ++next;
      cbs[s].aio_offset = static_cast<int64_t>(index) * block;
      ready.push_back(&cbs[s]);
    }
    if (!ready.empty()) {
      // NOTE: one stamp and one io_submit for all I/Os ready now. An io_submit may block (ext4 runs
      // extending O_DIRECT writes synchronously); each I/O's latency then includes waiting behind the
      // others, as fio's does (its p50s match this accounting, not one stamp per I/O).
      const auto now = Clock::now();
      for (iocb* cb : ready) issued[cb->aio_data] = now;
      long n = sys_io_submit(aio.get(), static_cast<long>(ready.size()), ready.data());
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) os_fail(write ? "cannot write" : "cannot read", fd.path(), errno);
        n = 0;
      }
      inflight += static_cast<int>(n);
      ready.erase(ready.begin(), ready.begin() + n);
    }
    if (inflight == 0) {
      if (ready.empty() && next >= nblocks) break;
      continue;
    }
    timespec timeout{0, 100 * 1000 * 1000};
    long got = sys_io_getevents(aio.get(), 1, depth, events.data(), &timeout);
    if (got < 0) {
      if (errno == EINTR) continue;
      os_fail("cannot wait for I/O on", fd.path(), errno);
    }
    const auto now = Clock::now();
    for (long e = 0; e < got; ++e) {
      const io_event& ev = events[e];
      int s = static_cast<int>(ev.data);
      --inflight;
      idle.push_back(s);
      if (ev.res < 0) {
        // Drain before reporting, so no I/O outlives its buffer.
        runner.stop.store(true, std::memory_order_relaxed);
        timespec wait{5, 0};
        while (inflight > 0) {
          long more = sys_io_getevents(aio.get(), 1, depth, events.data(), &wait);
          if (more <= 0) break;
          inflight -= static_cast<int>(more);
        }
        if (ev.res == -EINVAL && spec.direct)
          throw InputError("O_DIRECT I/O refused on " + fd.path() + ": " + std::strerror(EINVAL) +
                           " (try --buffered, or a block that is a multiple of the file system's block size)");
        os_fail(write ? "cannot write" : "cannot read", fd.path(), static_cast<int>(-ev.res));
      }
      if (ev.res != block) {
        runner.stop.store(true, std::memory_order_relaxed);
        throw InputError((write ? "short write to " : "short read from ") + fd.path() + ": " +
                         std::to_string(ev.res) + " of " + std::to_string(block) + " bytes");
      }
      lat.offer(seconds_between(issued[s], now));
      bytes += block;
      ++ops;
    }
    done.fetch_add(got * block, std::memory_order_relaxed);
  }
  if (write && !runner.stop.load(std::memory_order_relaxed) && ::fsync(fd.get()) != 0)
    os_fail("cannot fsync", fd.path(), errno);
  clock.end = Clock::now();
}

std::string job_path(const std::string& dir, int64_t job) { return dir + "/job" + std::to_string(job) + ".dat"; }

}  // namespace

int64_t check_io(const IoSpec& spec) {
  FF_CHECK_FIELD(spec.jobs >= 1 && spec.jobs <= kMaxJobs, "jobs",
                 "must be between 1 and " << kMaxJobs << ", got " << spec.jobs);
  FF_CHECK_FIELD(spec.iodepth >= 1 && spec.iodepth <= kMaxDepth, "iodepth",
                 "must be between 1 and " << kMaxDepth << ", got " << spec.iodepth);
  FF_CHECK_FIELD(spec.block >= 512 && spec.block <= kMaxBlock, "block",
                 "must be between 512 bytes and 1 GiB, got " << spec.block);
  FF_CHECK_FIELD(!spec.direct || spec.block % kDirectAlign == 0, "block",
                 "must be a multiple of 4 KiB for O_DIRECT, got " << spec.block << " (or use --buffered)");
  FF_CHECK_FIELD(std::isfinite(spec.runtime) && spec.runtime >= 0, "runtime",
                 "must be a finite number of seconds >= 0, got " << spec.runtime);
  FF_CHECK_FIELD(spec.size >= 1, "size", "must be positive, got " << spec.size);
  const int64_t file_bytes = spec.size / spec.jobs / spec.block * spec.block;
  FF_CHECK_FIELD(file_bytes >= spec.block, "size",
                 spec.size << " bytes over " << spec.jobs << " jobs leaves less than one " << spec.block
                           << "-byte block per job");
  const double buffers = double(spec.jobs) * double(spec.iodepth) * double(spec.block);
  check_fits(buffers, "the I/O buffers (jobs x iodepth x block)", "block");
  return file_bytes;
}

bool direct_supported(const std::string& dir) {
  const std::string path = dir + "/.direct-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EINVAL) return false;
    os_fail("cannot create", path, err);
  }
  AlignedBuffer buf(kDirectAlign);
  std::memset(buf.data(), 0, kDirectAlign);
  ssize_t w = ::pwrite(fd, buf.data(), kDirectAlign, 0);
  int err = errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (w == kDirectAlign) return true;
  if (w < 0 && err != EINVAL) os_fail("cannot write", path, err);
  return false;
}

IoRun run_io(const std::string& dir, const IoSpec& spec, bool write, bool random, uint64_t seed,
             const nb::object& progress) {
  const int64_t file_bytes = check_io(spec);
  const int jobs = static_cast<int>(spec.jobs);
  std::vector<Reservoir> lat;
  for (int j = 0; j < jobs; ++j) lat.emplace_back(std::max<size_t>(1, kLatencyCap / jobs), seed + 1000003u * j);
  std::vector<JobClock> clocks(jobs);
  std::vector<int64_t> bytes(jobs, 0), ops(jobs, 0);
  std::atomic<int64_t> laid{0}, done{0};
  const int64_t layout_total = write ? 0 : file_bytes * jobs;
  const int64_t run_total = file_bytes * jobs;
  Runner runner;
  Barrier ready(jobs);
  std::atomic<bool> timing{false};
  auto body = [&](int j) {
    const std::string path = job_path(dir, j);
    std::unique_ptr<Fd> fd;
    std::unique_ptr<AlignedBuffer> buf;
    std::unique_ptr<AioContext> aio;  // NOTE: declared after buf, so destroyed (and drained) before it
    try {
      if (!write) lay_out(path, file_bytes, seed ^ (0xA5A5A5A5ull + j), laid, runner.stop);
      const int flags = (write ? (O_WRONLY | O_CREAT | O_TRUNC) : O_RDONLY) | (spec.direct ? O_DIRECT : 0);
      fd = std::make_unique<Fd>(path, flags, write ? "cannot create" : "cannot open");
      buf = std::make_unique<AlignedBuffer>(static_cast<size_t>(spec.iodepth * spec.block));
      if (write) fill_random(buf->data(), buf->size(), seed + 7919u * j);
      aio = std::make_unique<AioContext>(static_cast<unsigned>(spec.iodepth));
    } catch (...) {
      runner.fail(std::current_exception());
    }
    ready.wait();  // NOTE: every job arrives, even a failed one, so none waits forever
    if (runner.stop.load() || !aio) return;
    timing.store(true, std::memory_order_relaxed);
    timed_job(*fd, *aio, *buf, spec, file_bytes, write, random, seed + 104729u * j, runner, done, lat[j], clocks[j],
              bytes[j], ops[j]);
  };
  Tick tick;
  if (!progress.is_none()) {
    tick = [&] {
      if (!write && !timing.load(std::memory_order_relaxed))
        progress("layout", laid.load(std::memory_order_relaxed), layout_total);
      else
        progress("run", done.load(std::memory_order_relaxed), run_total);
    };
  }
  {
    nb::gil_scoped_release release;
    runner.run(jobs, body, tick);
  }
  IoRun out;
  out.file_bytes = file_bytes;
  auto start = clocks[0].start, end = clocks[0].end;
  for (int j = 0; j < jobs; ++j) {
    out.bytes += bytes[j];
    out.ops += ops[j];
    start = std::min(start, clocks[j].start);
    end = std::max(end, clocks[j].end);
  }
  out.seconds = seconds_between(start, end);
  out.latency_s = gather(lat);
  return out;
}

}  // namespace ff::fs3::bench
