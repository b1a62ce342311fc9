// Publishing kernel totals: counter deltas, slot histograms, labels per
// cgroup, bucket bounds.
#include "metrics.h"

#include <gtest/gtest.h>

#include <array>

namespace kscope {
namespace {

constexpr std::array<CounterSpec, 2> kCounters{{
    {0, "t_calls_total", "Calls.", false},
    {1, "t_errors_total", "Errors.", true},
}};
// Words: calls, errors, sum, then 4 slots (le 1, 2, 4, +Inf).
constexpr std::array<HistogramSpec, 1> kHistograms{{{"t_size_bytes", "Sizes.", 3, 4, 2}}};

const prometheus::ClientMetric* find(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name, const std::string& cgroup = "") {
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      std::string label;
      for (const auto& l : m.label)
        if (l.name == "cgroup") label = l.value;
      if (label == cgroup) return &m;
    }
  }
  return nullptr;
}

double counter(prometheus::Registry& r, const std::string& name, const std::string& cgroup = "") {
  auto families = r.Collect();
  auto* m = find(families, name, cgroup);
  if (!m) {
    ADD_FAILURE() << name << "{cgroup=" << cgroup << "} not found";
    return -1;
  }
  return m->counter.value;
}

TEST(StatsPublisher, AddsTheIncreaseSinceTheLastSample) {
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, {}, Mode::kReturn, false);
  EXPECT_EQ(counter(r, "t_calls_total"), 0);  // node-wide series exist from the start
  std::array<uint64_t, 2> t{10, 1};
  p.publish(0, "", t);
  EXPECT_EQ(counter(r, "t_calls_total"), 10);
  t = {25, 1};
  p.publish(0, "", t);
  EXPECT_EQ(counter(r, "t_calls_total"), 25);
  EXPECT_EQ(counter(r, "t_errors_total"), 1);
}

TEST(StatsPublisher, NeverGoesBackwards) {
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, {}, Mode::kReturn, false);
  std::array<uint64_t, 2> t{10, 0};
  p.publish(0, "", t);
  t = {5, 0};  // cannot happen in the kernel; must not become a reset
  p.publish(0, "", t);
  EXPECT_EQ(counter(r, "t_calls_total"), 10);
  t = {12, 0};
  p.publish(0, "", t);
  EXPECT_EQ(counter(r, "t_calls_total"), 12);
}

TEST(StatsPublisher, EntryModeLeavesReturnOnlyFamiliesAbsent) {
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, kHistograms, Mode::kEntry, false);
  EXPECT_EQ(p.counters(), 1u);
  auto families = r.Collect();
  EXPECT_NE(find(families, "t_calls_total"), nullptr);
  EXPECT_EQ(find(families, "t_errors_total"), nullptr);
  EXPECT_EQ(find(families, "t_size_bytes"), nullptr);
}

TEST(StatsPublisher, TwoSourcesWithOneLabelFeedOneSeries) {
  // A restarted service: new cgroup id, same path.
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, {}, Mode::kReturn, true);
  std::array<uint64_t, 2> a{7, 0}, b{5, 2};
  p.publish(100, "/system.slice/x.service", a);
  p.publish(200, "/system.slice/x.service", b);
  p.publish(300, "/other.slice", a);
  EXPECT_EQ(counter(r, "t_calls_total", "/system.slice/x.service"), 12);
  EXPECT_EQ(counter(r, "t_errors_total", "/system.slice/x.service"), 2);
  EXPECT_EQ(counter(r, "t_calls_total", "/other.slice"), 7);
  b = {9, 2};
  p.publish(200, "/system.slice/x.service", b);
  EXPECT_EQ(counter(r, "t_calls_total", "/system.slice/x.service"), 16);
}

TEST(StatsPublisher, RemovedLabelLeavesAndForgottenSourceStartsAgain) {
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, {}, Mode::kReturn, true);
  std::array<uint64_t, 2> a{7, 0};
  p.publish(1, "/a", a);
  p.remove_label("/a");
  p.forget(1);
  EXPECT_EQ(find(r.Collect(), "t_calls_total", "/a"), nullptr);
  p.publish(1, "/a", a);  // a late re-created entry counts from zero again
  EXPECT_EQ(counter(r, "t_calls_total", "/a"), 7);
}

TEST(StatsPublisher, SourceStillThereAfterItsLabelLeftMakesTheSeriesAgain) {
  // The publisher keeps each source's series; removing the label must not
  // leave the source pointing at series that are gone.
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, {}, Mode::kReturn, true);
  std::array<uint64_t, 2> a{7, 0};
  p.publish(1, "/a", a);
  p.remove_label("/a");
  a = {9, 0};
  p.publish(1, "/a", a);
  EXPECT_EQ(counter(r, "t_calls_total", "/a"), 2);  // the increase since 7
}

TEST(StatsPublisher, SourceWhoseLabelChangesFeedsTheNewSeries) {
  // Counted as "other" past max_cgroups, then under its own path.
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, {}, Mode::kReturn, true);
  std::array<uint64_t, 2> a{5, 0};
  p.publish(1, "other", a);
  a = {8, 1};
  p.publish(1, "/a", a);
  EXPECT_EQ(counter(r, "t_calls_total", "other"), 5);
  EXPECT_EQ(counter(r, "t_calls_total", "/a"), 3);
  EXPECT_EQ(counter(r, "t_errors_total", "/a"), 1);
}

TEST(PowerOfTwoBounds, StartAtOneAndDouble) {
  auto b = power_of_two_bounds(31);
  ASSERT_EQ(b.size(), 31u);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 2);
  EXPECT_EQ(b[26], 64.0 * 1024 * 1024);  // the issue asks for at least 64 MiB
  EXPECT_EQ(b[30], 1024.0 * 1024 * 1024);
}

TEST(StatsPublisher, HistogramSlotDeltasPublishedCumulatively) {
  prometheus::Registry r;
  StatsPublisher p(r, kCounters, kHistograms, Mode::kReturn, false);
  std::array<uint64_t, 7> w{3, 0, 9, 0, 0, 3, 0};  // three 3-byte reads
  p.publish(0, "", w);
  w = {6, 0, 110, 1, 0, 3, 2};
  p.publish(0, "", w);
  auto families = r.Collect();
  const auto* m = find(families, "t_size_bytes");
  ASSERT_NE(m, nullptr);
  const auto& hist = m->histogram;
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
