// Reading whole per-CPU maps whose values are n u64 counters, summed over
// CPUs, in batches into buffers kept from pass to pass: a pass over 500
// cgroups used to allocate (and fault in) a fresh batch buffer and three
// vectors per entry, in each module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace kscope {

// Keys and their sums, n words per key, in one flat vector.
class PercpuRows {
 public:
  explicit PercpuRows(size_t n) : n_(n) {}
  size_t size() const { return keys_.size(); }
  uint64_t key(size_t row) const { return keys_[row]; }
  std::span<uint64_t> row(size_t r) { return {sums_.data() + r * n_, n_}; }
  std::span<const uint64_t> row(size_t r) const { return {sums_.data() + r * n_, n_}; }
  // A new row of zeros for key; returns its index.
  size_t append(uint64_t key);
  void clear();

 private:
  size_t n_;
  std::vector<uint64_t> keys_, sums_;
};

class PercpuReader {
 public:
  // batches false: key by key from the start (tests; kscope finds out).
  explicit PercpuReader(size_t n, bool batches = true);
  // Appends every element of a per-CPU hash keyed by u64. Throws Error.
  void read_hash(int map_fd, PercpuRows& rows);
  // Appends every element of a per-CPU array (u32 keys). Throws Error.
  void read_array(int map_fd, PercpuRows& rows);

 private:
  void read(int map_fd, size_t key_size, PercpuRows& rows);
  void read_each(int map_fd, size_t key_size, PercpuRows& rows);
  // count keys of key_size bytes in keys_, their values in values_.
  void add(size_t count, size_t key_size, PercpuRows& rows) const;

  size_t n_, ncpus_, batch_;
  bool batches_ = true;  // false once the kernel refused a batch lookup
  // Not value-initialized: the pages of a large batch the kernel never
  // fills stay untouched, so a node with few cgroups pays no memory.
  std::unique_ptr<unsigned char[]> keys_;
  std::unique_ptr<uint64_t[]> values_;
};

}  // namespace kscope
