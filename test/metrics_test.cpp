// Publishing kernel totals: counter deltas, slot histograms, bucket bounds.
#include "metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <array>

namespace kscope {
namespace {

constexpr std::array<CounterSpec, 2> kSpecs{{
    {0, "t_calls_total", "Calls.", false},
    {1, "t_errors_total", "Errors.", true},
}};

double value_of(prometheus::Registry& r, const std::string& name) {
  for (const auto& f : r.Collect())
    if (f.name == name) return f.metric.at(0).counter.value;
  ADD_FAILURE() << name << " not found";
  return -1;
}

bool has_family(prometheus::Registry& r, const std::string& name) {
  for (const auto& f : r.Collect())
    if (f.name == name) return true;
  return false;
}

TEST(CounterSet, AddsTheIncreaseSinceTheLastSample) {
  prometheus::Registry r;
  CounterSet set(r, kSpecs, Mode::kReturn);
  std::array<uint64_t, 2> t{10, 1};
  set.update(t);
  EXPECT_EQ(value_of(r, "t_calls_total"), 10);
  t = {25, 1};
  set.update(t);
  EXPECT_EQ(value_of(r, "t_calls_total"), 25);
  EXPECT_EQ(value_of(r, "t_errors_total"), 1);
}

TEST(CounterSet, NeverGoesBackwards) {
  prometheus::Registry r;
  CounterSet set(r, kSpecs, Mode::kReturn);
  std::array<uint64_t, 2> t{10, 0};
  set.update(t);
  t = {5, 0};  // cannot happen in the kernel; must not become a reset
  set.update(t);
  EXPECT_EQ(value_of(r, "t_calls_total"), 10);
  t = {12, 0};
  set.update(t);
  EXPECT_EQ(value_of(r, "t_calls_total"), 12);
}

TEST(CounterSet, EntryModeLeavesReturnOnlyCountersAbsent) {
  prometheus::Registry r;
  CounterSet set(r, kSpecs, Mode::kEntry);
  EXPECT_EQ(set.size(), 1u);
  EXPECT_TRUE(has_family(r, "t_calls_total"));
  EXPECT_FALSE(has_family(r, "t_errors_total"));
}

TEST(PowerOfTwoBounds, StartAtOneAndDouble) {
  auto b = power_of_two_bounds(31);
  ASSERT_EQ(b.size(), 31u);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 2);
  EXPECT_EQ(b[26], 64.0 * 1024 * 1024);  // the issue asks for at least 64 MiB
  EXPECT_EQ(b[30], 1024.0 * 1024 * 1024);
}

TEST(SlotHistogram, PublishesSlotDeltasCumulatively) {
  prometheus::Registry r;
  SlotHistogram h(r, "t_size_bytes", "Sizes.", 4);  // le 1, 2, 4, +Inf
  std::array<uint64_t, 4> slots{0, 0, 3, 0};        // three 3-byte reads
  h.update(slots, 9);
  slots = {1, 0, 3, 2};
  h.update(slots, 9 + 1 + 100);
  auto families = r.Collect();
  ASSERT_EQ(families.size(), 1u);
  const auto& hist = families[0].metric.at(0).histogram;
  EXPECT_EQ(hist.sample_count, 6u);
  EXPECT_EQ(hist.sample_sum, 110);
  ASSERT_EQ(hist.bucket.size(), 4u);
  EXPECT_EQ(hist.bucket[0].cumulative_count, 1u);  // le=1
  EXPECT_EQ(hist.bucket[1].cumulative_count, 1u);  // le=2
  EXPECT_EQ(hist.bucket[2].cumulative_count, 4u);  // le=4
  EXPECT_EQ(hist.bucket[3].cumulative_count, 6u);  // +Inf
}

}  // namespace
}  // namespace kscope
