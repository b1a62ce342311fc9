// Publishing monotonic kernel totals as prometheus-cpp metrics: each sample
// adds the increase since the last one (never Reset(): a scrape in between
// would see a counter reset).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config.h"

namespace kscope {

struct CounterSpec {
  int index;         // position in the kernel's stats array
  const char* name;  // full metric name, kscope_..._total
  const char* help;
  bool return_only;  // needs the return value: absent in entry mode
};

// The counters of one module that the mode yields, registered once.
class CounterSet {
 public:
  CounterSet(prometheus::Registry& registry, std::span<const CounterSpec> specs, Mode mode);
  // totals: the kernel's current sums, indexed by CounterSpec::index.
  void update(std::span<const uint64_t> totals);
  size_t size() const { return counters_.size(); }

 private:
  struct Entry {
    int index;
    prometheus::Counter* counter;
    uint64_t last = 0;
  };
  std::vector<Entry> counters_;
};

// Bucket bounds 1, 2, 4, ... 2^(n-1): the kernel's ceil-log2 slots.
std::vector<double> power_of_two_bounds(size_t n);

// A histogram fed with the kernel's per-slot totals (slots = bounds + 1,
// the last one +Inf) and the running sum of observed values.
class SlotHistogram {
 public:
  SlotHistogram(prometheus::Registry& registry, const std::string& name, const std::string& help,
                size_t slots);
  void update(std::span<const uint64_t> slot_totals, uint64_t sum_total);

 private:
  prometheus::Histogram* histogram_;
  std::vector<uint64_t> last_;
  uint64_t last_sum_ = 0;
};

}  // namespace kscope
