// Reading whole per-CPU maps in batches (exporter/bpf/percpu_rows.h), on
// real maps: several batches, every key once, exact sums over CPUs.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "bpf/object.h"
#include "bpf/percpu_rows.h"

namespace kscope {
namespace {

// What CPU `cpu` holds in word w of key k.
uint64_t value(uint64_t key, size_t cpu, size_t w) { return key * 1000 + cpu * 10 + w % 7; }

Fd make_map(bpf_map_type type, uint32_t key_size, size_t words, uint32_t entries) {
  int fd = bpf_map_create(type, "kscope_test", key_size, static_cast<uint32_t>(words * 8), entries,
                          nullptr);
  return Fd(fd);
}

std::vector<uint64_t> percpu_value(uint64_t key, size_t ncpus, size_t words) {
  std::vector<uint64_t> v(ncpus * words);
  for (size_t cpu = 0; cpu < ncpus; cpu++)
    for (size_t w = 0; w < words; w++) v[cpu * words + w] = value(key, cpu, w);
  return v;
}

// Both ways of reading: in batches, and key by key as on kernels without
// batch lookups for the map's type (per-CPU arrays before 5.13).
class PercpuReaderTest : public ::testing::TestWithParam<bool> {};

TEST_P(PercpuReaderTest, ReadsAHashOverManyBatchesWithExactSums) {
  const size_t ncpus = static_cast<size_t>(libbpf_num_possible_cpus());
  // 8 KiB a CPU: a batch holds 32 keys on a small machine, so 100 keys
  // take several batches.
  const size_t words = 1024;
  Fd map = make_map(BPF_MAP_TYPE_PERCPU_HASH, 8, words, 128);
  if (map.get() < 0 && (errno == EPERM || errno == EACCES))
    GTEST_SKIP() << "creating a BPF map needs root (CAP_BPF): " << std::strerror(errno);
  ASSERT_GE(map.get(), 0) << std::strerror(errno);
  for (uint64_t key = 1; key <= 100; key++) {
    auto v = percpu_value(key, ncpus, words);
    ASSERT_EQ(bpf_map_update_elem(map.get(), &key, v.data(), BPF_NOEXIST), 0);
  }
  PercpuReader reader(words, GetParam());
  PercpuRows rows(words);
  rows.append(7777);  // what the rows held before stays: reads append
  reader.read_hash(map.get(), rows);
  ASSERT_EQ(rows.size(), 101u);
  EXPECT_EQ(rows.key(0), 7777u);
  std::map<uint64_t, size_t> seen;
  for (size_t r = 1; r < rows.size(); r++) {
    uint64_t key = rows.key(r);
    seen[key]++;
    for (size_t w = 0; w < words; w++) {
      uint64_t want = 0;
      for (size_t cpu = 0; cpu < ncpus; cpu++) want += value(key, cpu, w);
      ASSERT_EQ(rows.row(r)[w], want) << "key " << key << " word " << w;
    }
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.begin()->first, 1u);
  EXPECT_EQ(seen.rbegin()->first, 100u);

  // A second read into cleared rows gives the same; an empty map gives none.
  rows.clear();
  reader.read_hash(map.get(), rows);
  EXPECT_EQ(rows.size(), 100u);
  Fd empty = make_map(BPF_MAP_TYPE_PERCPU_HASH, 8, words, 4);
  ASSERT_GE(empty.get(), 0);
  rows.clear();
  reader.read_hash(empty.get(), rows);
  EXPECT_EQ(rows.size(), 0u);
}

TEST_P(PercpuReaderTest, ReadsEveryElementOfAnArrayByIndex) {
  const size_t ncpus = static_cast<size_t>(libbpf_num_possible_cpus());
  const size_t words = 3;
  Fd map = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, words, 64);
  if (map.get() < 0 && (errno == EPERM || errno == EACCES))
    GTEST_SKIP() << "creating a BPF map needs root (CAP_BPF): " << std::strerror(errno);
  ASSERT_GE(map.get(), 0) << std::strerror(errno);
  for (uint32_t key = 0; key < 64; key++) {
    auto v = percpu_value(key, ncpus, words);
    ASSERT_EQ(bpf_map_update_elem(map.get(), &key, v.data(), BPF_ANY), 0);
  }
  PercpuReader reader(words, GetParam());
  PercpuRows rows(words);
  reader.read_array(map.get(), rows);
  ASSERT_EQ(rows.size(), 64u);
  for (size_t r = 0; r < rows.size(); r++) {
    EXPECT_EQ(rows.key(r), r);
    for (size_t w = 0; w < words; w++) {
      uint64_t want = 0;
      for (size_t cpu = 0; cpu < ncpus; cpu++) want += value(r, cpu, w);
      EXPECT_EQ(rows.row(r)[w], want) << "slot " << r << " word " << w;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ways, PercpuReaderTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Batches" : "KeyByKey"; });

}  // namespace
}  // namespace kscope
