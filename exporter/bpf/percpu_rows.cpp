#include "bpf/percpu_rows.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf/error.h"
#include "bpf/object.h"

namespace kscope {
namespace {

// Bytes of per-CPU values one batch may hold: a bound on the buffer on
// machines with many CPUs, and still hundreds of cgroups a syscall on small
// ones.
constexpr size_t kBatchBytes = 512 * 1024;
// A hash batch must hold a whole bucket (ENOSPC otherwise); buckets of
// more entries than this are vanishingly rare.
constexpr size_t kMinBatch = 32;
// The kernel's ENOTSUPP (not in errno.h): no batch lookup for this map type
// (per-CPU arrays before 5.13).
constexpr int kEnotsupp = 524;

}  // namespace

size_t PercpuRows::append(uint64_t key) {
  keys_.push_back(key);
  sums_.resize(sums_.size() + n_, 0);
  return keys_.size() - 1;
}

void PercpuRows::clear() {
  keys_.clear();
  sums_.clear();
}

PercpuReader::PercpuReader(size_t n, bool batches) : n_(n), batches_(batches) {
  ncpus_ = possible_cpus();
  batch_ = std::max<size_t>(kMinBatch, kBatchBytes / (ncpus_ * n_ * sizeof(uint64_t)));
  keys_ = std::make_unique_for_overwrite<unsigned char[]>(batch_ * sizeof(uint64_t));
  values_ = std::make_unique_for_overwrite<uint64_t[]>(batch_ * ncpus_ * n_);
}

void PercpuReader::read_hash(int map_fd, PercpuRows& rows) { read(map_fd, sizeof(uint64_t), rows); }

void PercpuReader::read_array(int map_fd, PercpuRows& rows) {
  read(map_fd, sizeof(uint32_t), rows);
}

void PercpuReader::read(int map_fd, size_t key_size, PercpuRows& rows) {
  if (!batches_) return read_each(map_fd, key_size, rows);
  // The batch token is the kernel's (a bucket for a hash, a key for an
  // array): at most 8 bytes, kept as it comes.
  uint64_t cursor = 0;
  bool first = true;
  for (;;) {
    auto count = static_cast<uint32_t>(batch_);
    int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &cursor, &cursor, keys_.get(),
                                   values_.get(), &count, nullptr);
    int saved = errno;
    // count is the kernel's only on success or ENOENT; otherwise it is
    // still what was asked for.
    if (err != 0 && saved != ENOENT) {
      if (first && saved == kEnotsupp) {
        batches_ = false;
        return read_each(map_fd, key_size, rows);
      }
      throw Error("read per-CPU map in batches", saved);
    }
    add(count, key_size, rows);
    if (err != 0) return;  // ENOENT: the whole map was read
    first = false;
  }
}

// Key by key, where the kernel has no batch lookup for the map's type.
// Only kscope deletes entries, from this thread, so the walk never loses
// its place.
void PercpuReader::read_each(int map_fd, size_t key_size, PercpuRows& rows) {
  unsigned char* key = keys_.get();  // the current key; the next goes after it
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, key + key_size) == 0) {
    std::memmove(key, key + key_size, key_size);
    prev = key;
    if (bpf_map_lookup_elem(map_fd, key, values_.get()) == 0)
      add(1, key_size, rows);
    else if (errno != ENOENT)  // ENOENT: deleted meanwhile
      throw Error("read per-CPU map element", errno);
  }
  if (errno != ENOENT) throw Error("list per-CPU map keys", errno);
}

void PercpuReader::add(size_t count, size_t key_size, PercpuRows& rows) const {
  for (size_t i = 0; i < count; i++) {
    uint64_t key = 0;
    std::memcpy(&key, keys_.get() + i * key_size, key_size);
    auto sum = rows.row(rows.append(key));
    const uint64_t* v = values_.get() + i * ncpus_ * n_;
    for (size_t cpu = 0; cpu < ncpus_; cpu++, v += n_)
      for (size_t w = 0; w < n_; w++) sum[w] += v[w];
  }
}

}  // namespace kscope
