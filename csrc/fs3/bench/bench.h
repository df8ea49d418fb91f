// flyer fs3 bench's compiled loops: the built-in I/O engine and the metadata (mdtest-pattern) workload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/arrays.h"
#include "fs3/bench/jobs.h"

namespace ff::fs3::bench {

// One I/O job as the engine runs it; check_io refuses what cannot run (fio's path uses it too).
struct IoSpec {
  int64_t size = 0;       // bytes over all jobs
  int64_t block = 0;      // bytes per I/O
  int64_t jobs = 1;       // threads, one file each
  int64_t iodepth = 1;    // I/Os in flight per job
  bool direct = true;     // O_DIRECT
  double runtime = 0.0;   // seconds; 0: until every block is done
};

// Bytes each job's file holds: size / jobs, rounded down to whole blocks. Raises InputError naming the
// field ("size", "block", "jobs", "iodepth", "runtime") when the job cannot run.
int64_t check_io(const IoSpec& spec);

struct IoRun {
  int64_t bytes = 0;      // moved in the timed phase, all jobs
  int64_t ops = 0;        // I/Os completed
  double seconds = 0.0;   // first submission to last completion (and the final fsync of writes)
  Out<double> latency_s;  // per-I/O submission-to-completion seconds (a uniform sample past 4M I/Os)
  int64_t file_bytes = 0; // per job
};

// The timed run: one file per job under `dir` (created and left for the caller to remove).
IoRun run_io(const std::string& dir, const IoSpec& spec, bool write, bool random, uint64_t seed,
             const nb::object& progress);

// Whether files under `dir` accept O_DIRECT (opened and written with an aligned 4 KiB block).
bool direct_supported(const std::string& dir);

struct MetaPhase {
  std::string name;       // create, stat, rename, delete
  int64_t ops = 0;
  double seconds = 0.0;
  Out<double> latency_s;
};

// create, stat, rename and delete of `files` files spread over `dirs` directories under `root`, on
// `jobs` threads (each a contiguous share of the files; every job works in every directory).
std::vector<MetaPhase> run_metadata(const std::string& root, int64_t files, int64_t dirs, int64_t jobs,
                                    int64_t file_bytes, const nb::object& progress);

// One pass over a batch of GraySort records (keys (n, 10), values (n, 90) uint8): keys smaller than the key
// before them, the sum (mod 2^64) of each record's 64-bit hash, and, given `seen`, one more count for
// the index each value starts with (8 bytes, big-endian; indices outside `seen` are not counted).
struct RecordSummary {
  int64_t rows = 0;
  int64_t disorder = 0;
  uint64_t checksum = 0;
};
RecordSummary summarize_records(In2<uint8_t> keys, In2<uint8_t> values, std::optional<Mut1<uint16_t>> seen);

}  // namespace ff::fs3::bench
