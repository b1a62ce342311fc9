// The kernel's histogram slot function, run in user space: the le bucket
// for each size must be the smallest power of two at or above it.
#include <gtest/gtest.h>
#include <linux/types.h>

#include <cmath>

#include "metrics.h"
#include "probes/le_slot.h"
#include "probes/vfs.h"

namespace kscope {
namespace {

TEST(LeSlot, SmallValues) {
  EXPECT_EQ(kscope_le_slot(0, 31), 0u);  // le="1"
  EXPECT_EQ(kscope_le_slot(1, 31), 0u);  // le="1"
  EXPECT_EQ(kscope_le_slot(2, 31), 1u);  // le="2"
  EXPECT_EQ(kscope_le_slot(3, 31), 2u);  // le="4", not "2"
  EXPECT_EQ(kscope_le_slot(4, 31), 2u);
  EXPECT_EQ(kscope_le_slot(5, 31), 3u);
  EXPECT_EQ(kscope_le_slot(3000, 31), 12u);  // le="4096"
}

TEST(LeSlot, EveryValueFallsInTheSmallestBoundAtOrAboveIt) {
  auto bounds = power_of_two_bounds(VFS_SIZE_INF_SLOT);
  for (__u64 v : {2ull, 7ull, 8ull, 9ull, 1023ull, 1024ull, 1025ull, 65535ull, 65536ull,
                  (1ull << 26) + 1, (1ull << 30) - 1, 1ull << 30}) {
    __u32 slot = kscope_le_slot(v, VFS_SIZE_INF_SLOT);
    ASSERT_LT(slot, bounds.size()) << v;
    EXPECT_LE(static_cast<double>(v), bounds[slot]) << v;
    EXPECT_GT(static_cast<double>(v), bounds[slot - 1]) << v;
  }
}

TEST(LeSlot, AboveTheLastBoundIsInf) {
  EXPECT_EQ(kscope_le_slot((1ull << 30) + 1, VFS_SIZE_INF_SLOT), 31u);
  EXPECT_EQ(kscope_le_slot(~0ull, VFS_SIZE_INF_SLOT), 31u);
}

}  // namespace
}  // namespace kscope
