// Summing per-CPU values as the kernel lays them out.
#include <gtest/gtest.h>

#include "bpf/error.h"
#include "bpf/object.h"

namespace kscope {
namespace {

TEST(SumPercpu, AddsEachCounterOverCpus) {
  // 3 CPUs x 2 counters.
  std::vector<uint64_t> v{1, 10, 2, 20, 3, 30};
  EXPECT_EQ(sum_percpu(v, 3, 2), (std::vector<uint64_t>{6, 60}));
}

TEST(SumPercpu, OneCpu) {
  std::vector<uint64_t> v{7, 8, 9};
  EXPECT_EQ(sum_percpu(v, 1, 3), v);
}

TEST(Error, CarriesErrnoText) {
  Error e("fd: attach tp_exit__openat", -ENOENT);
  EXPECT_STREQ(e.what(), "fd: attach tp_exit__openat: No such file or directory");
  EXPECT_EQ(e.err(), ENOENT);
}

}  // namespace
}  // namespace kscope
