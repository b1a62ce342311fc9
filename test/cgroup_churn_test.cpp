// Cgroups that come and go while kscope walks the cgroup tree must not
// disturb the labels of the cgroups that stay.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "cgroup/attribution.h"
#include "cgroup_tree.h"

namespace kscope {
namespace {

// Found by test/sampler_scrape_test.cpp: a directory removed during the walk
// ended it, and every cgroup not yet visited was taken for removed: its
// series were dropped and its counts deleted, though it was still there.
TEST(CgroupChurn, CgroupsRemovedDuringAWalkLeaveTheOthersAlone) {
  test::CgroupTree tree;
  prometheus::Registry registry;
  CgroupAttribution attribution(tree.root().string(), 100000, "/nonexistent", registry);
  std::map<uint64_t, std::string> steady;
  for (int i = 0; i < 50; ++i) {
    std::string path = "/system.slice/steady-" + std::to_string(i) + ".service";
    steady[tree.add(path)] = path;
  }
  std::atomic<bool> done{false};
  std::thread churn([&] {
    for (int i = 0; !done; ++i) {
      std::string path = "/system.slice/churn-" + std::to_string(i) + ".scope";
      tree.add(path);
      tree.remove(path);
    }
  });
  // An id never seen before makes each pass walk the tree again.
  constexpr uint64_t kUnseen = uint64_t{1} << 62;
  for (uint64_t pass = 0; pass < 30; ++pass) {
    attribution.begin_pass();
    EXPECT_EQ(attribution.label(kUnseen + pass), CgroupAttribution::kOther);
    for (const auto& [id, path] : steady) {
      EXPECT_EQ(attribution.label(id), path) << "pass " << pass;
      EXPECT_FALSE(attribution.gone(id)) << path << " in pass " << pass;
    }
    attribution.end_pass();
  }
  done = true;
  churn.join();
}

}  // namespace
}  // namespace kscope
