#include "trace/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/common.h"

namespace ff::trace {

namespace {
constexpr size_t kInChunk = 1 << 20;
}

ByteSource::ByteSource(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  FF_CHECK(fd_ >= 0, "cannot read: " << std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    FF_CHECK(false, "expected a trace file, found a directory");
  }
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  // Peek at the magic bytes: 1f 8b is gzip whatever the file is called.
  unsigned char magic[2] = {0, 0};
  ssize_t got = ::pread(fd_, magic, 2, 0);
  gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzip_) {
    in_.resize(kInChunk);
    // NOTE: 15 + 16: gzip framing only (a raw zlib stream is not a trace file format anyone writes).
    FF_CHECK(inflateInit2(&z_, 15 + 16) == Z_OK, "cannot start the gzip decoder");
  }
}

ByteSource::ByteSource(const std::string& path, uint64_t begin, uint64_t end) : ByteSource(path) {
  FF_CHECK(!gzip_ && begin <= end && end <= size_, "cannot read bytes " << begin << ".." << end << " of this file");
  FF_CHECK(::lseek(fd_, static_cast<off_t>(begin), SEEK_SET) >= 0, "cannot read: " << std::strerror(errno));
  left_ = end - begin;
}

ByteSource::~ByteSource() {
  if (gzip_) inflateEnd(&z_);
  if (fd_ >= 0) ::close(fd_);
}

size_t ByteSource::read_file(char* dst, size_t n) {
  if (n > left_) n = static_cast<size_t>(left_);
  if (n == 0) return 0;
  for (;;) {
    ssize_t got = ::read(fd_, dst, n);
    if (got >= 0) {
      file_bytes_ += static_cast<uint64_t>(got);
      if (left_ != UINT64_MAX) left_ -= static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
    if (errno == EINTR) continue;
    FF_CHECK(false, "cannot read: " << std::strerror(errno));
  }
}

size_t ByteSource::read(char* dst, size_t n) {
  if (!gzip_) {
    size_t total = 0;
    while (total < n) {
      size_t got = read_file(dst + total, n - total);
      if (got == 0) break;
      total += got;
    }
    return total;
  }
  z_.next_out = reinterpret_cast<Bytef*>(dst);
  z_.avail_out = static_cast<uInt>(n);
  while (z_.avail_out > 0) {
    if (z_.avail_in == 0 && !file_eof_) {
      size_t got = read_file(reinterpret_cast<char*>(in_.data()), in_.size());
      if (got == 0) file_eof_ = true;
      z_.next_in = in_.data();
      z_.avail_in = static_cast<uInt>(got);
    }
    if (z_.avail_in == 0 && file_eof_) {
      FF_CHECK(stream_end_, "truncated gzip stream: the file ends inside compressed data");
      break;
    }
    if (stream_end_) {
      // Another gzip member follows (concatenated .gz files are one stream).
      FF_CHECK(inflateReset(&z_) == Z_OK, "cannot restart the gzip decoder");
      stream_end_ = false;
    }
    int rc = inflate(&z_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      stream_end_ = true;
    } else {
      FF_CHECK(rc == Z_OK || rc == Z_BUF_ERROR,
               "not a valid gzip file: " << (z_.msg ? z_.msg : "damaged compressed data"));
    }
  }
  return n - z_.avail_out;
}

Prefetcher::Prefetcher(ByteSource& src) : src_(src), buffers_(kBuffers) {
  for (int i = static_cast<int>(kBuffers) - 1; i >= 0; --i) free_.push_back(i);
  // NOTE: one reading thread per file, not a pool: it only moves bytes ahead of the parser.
  thread_ = std::thread([this] { run(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Prefetcher::run() {
  for (;;) {
    int id = -1;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      id = free_.back();
      free_.pop_back();
    }
    std::vector<char>& buf = buffers_[static_cast<size_t>(id)];
    if (buf.empty()) buf.resize(kReserve + kChunk + kPad);
    size_t got = 0;
    std::exception_ptr error;
    try {
      got = src_.read(buf.data() + kReserve, kChunk);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (error) error_ = error;
      else ready_.push_back({buf.data() + kReserve, got, id});
      if (error || got == 0) finished_ = true;
    }
    cv_.notify_all();
    if (error || got == 0) return;
  }
}

Prefetcher::Chunk Prefetcher::next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || error_ || (finished_ && ready_.empty()); });
  if (!ready_.empty()) {
    Chunk c = ready_.front();
    ready_.pop_front();
    return c;
  }
  if (error_) std::rethrow_exception(error_);
  return {nullptr, 0, -1};
}

void Prefetcher::release(int id) {
  if (id < 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(id);
  }
  cv_.notify_all();
}

}  // namespace ff::trace
