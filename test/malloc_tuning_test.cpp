// The GLIBC_TUNABLES value kscope restarts itself with.
#include "malloc_tuning.h"

#include <gtest/gtest.h>

namespace kscope {
namespace {

TEST(TcacheOff, AddsTheSettingToWhatIsThere) {
  EXPECT_EQ(tunables_with_tcache_off(nullptr), "glibc.malloc.tcache_count=0");
  EXPECT_EQ(tunables_with_tcache_off(""), "glibc.malloc.tcache_count=0");
  EXPECT_EQ(tunables_with_tcache_off("glibc.malloc.arena_max=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0");
  // A name that only starts like it is another tunable.
  EXPECT_EQ(tunables_with_tcache_off("glibc.malloc.tcache_count_x=1"),
            "glibc.malloc.tcache_count_x=1:glibc.malloc.tcache_count=0");
}

TEST(TcacheOff, LeavesAChosenCountAlone) {
  EXPECT_EQ(tunables_with_tcache_off("glibc.malloc.tcache_count=7"), std::nullopt);
  EXPECT_EQ(tunables_with_tcache_off("glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0"),
            std::nullopt);
}

}  // namespace
}  // namespace kscope
