// The bytes of a trace file, plain or gzip-compressed (recognised by its magic bytes, not its name),
// read in chunks so that files of any size stream through a fixed amount of memory.
#pragma once

#include <zlib.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ff::trace {

class ByteSource {
 public:
  explicit ByteSource(const std::string& path);
  // Bytes [begin, end) of a plain (uncompressed) file.
  ByteSource(const std::string& path, uint64_t begin, uint64_t end);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Reads up to n bytes of content into dst; 0 only at the end. Throws InputError on a read error
  // or a damaged or truncated gzip stream.
  size_t read(char* dst, size_t n);
  bool gzip() const { return gzip_; }
  uint64_t size() const { return size_; }  // of the file on disk
  int fd() const { return fd_; }
  // Bytes read from the file itself (compressed bytes for gzip).
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  size_t read_file(char* dst, size_t n);

  int fd_ = -1;
  bool gzip_ = false;
  bool file_eof_ = false;
  bool stream_end_ = false;
  uint64_t file_bytes_ = 0;
  uint64_t size_ = 0;
  uint64_t left_ = UINT64_MAX;  // bytes this source may still read (a range)
  z_stream z_{};
  std::vector<unsigned char> in_;
};

// Reads a ByteSource ahead on a thread of its own, so that reading (the kernel's copy, or gzip's inflate)
// runs beside the parsing. Chunks land at kReserve in buffers of kReserve + kChunk + kPad bytes: the
// reader of a chunk may put the unfinished text of the previous chunk (up to kReserve bytes) in front of
// it, and has kPad writable bytes after it.
class Prefetcher {
 public:
  static constexpr size_t kReserve = 1 << 20, kChunk = 4 << 20, kPad = 64, kBuffers = 3;
  struct Chunk {
    char* data;  // kReserve bytes into buffer `id`
    size_t size;  // 0: the end of the source
    int id;
  };

  explicit Prefetcher(ByteSource& src);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  Chunk next();          // waits for the next chunk; rethrows the reader's error
  void release(int id);  // buffer `id` is no longer read: it may be filled again

 private:
  void run();

  ByteSource& src_;
  std::vector<std::vector<char>> buffers_;
  std::deque<Chunk> ready_;
  std::vector<int> free_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, finished_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace ff::trace
