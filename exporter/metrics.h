// Publishing monotonic kernel totals as prometheus-cpp metrics: each sample
// adds the increase since the last one (never Reset(): a scrape in between
// would see a counter reset). With attribution, each source (a cgroup id)
// keeps its own last totals and adds to its label's series, so two ids
// with one path (a restarted service) feed one series.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.h"

namespace kscope {

struct CounterSpec {
  int index;         // position in the kernel's stats words
  const char* name;  // full metric name, kscope_..._total
  const char* help;
  bool return_only;  // needs the return value: absent in entry mode
};

// A histogram over the kernel's ceil-log2 slots (return mode only).
struct HistogramSpec {
  const char* name;
  const char* help;
  size_t first_slot;  // position of slot 0 in the stats words
  size_t slots;       // bounds + 1: the last slot is +Inf
  int sum_index;      // the word holding the running sum of observed values
};

// Bucket bounds 1, 2, 4, ... 2^(n-1): the kernel's ceil-log2 slots.
std::vector<double> power_of_two_bounds(size_t n);

class StatsPublisher {
 public:
  // labeled: every series carries cgroup="<label>"; else one unlabeled series.
  StatsPublisher(prometheus::Registry& registry, std::span<const CounterSpec> counters,
                 std::span<const HistogramSpec> histograms, Mode mode, bool labeled);
  // words: one source's current kernel totals.
  void publish(uint64_t source, const std::string& label, std::span<const uint64_t> words);
  // The source is gone (its map entry deleted): drop its last totals.
  void forget(uint64_t source) { sources_.erase(source); }
  // The label's series leave /metrics.
  void remove_label(const std::string& label);
  size_t counters() const { return counter_specs_.size(); }

 private:
  struct Series {
    std::vector<prometheus::Counter*> counters;
    std::vector<prometheus::Histogram*> histograms;
  };
  Series& series(const std::string& label);

  bool labeled_;
  std::vector<CounterSpec> counter_specs_;
  std::vector<HistogramSpec> histogram_specs_;
  std::vector<prometheus::Family<prometheus::Counter>*> counter_families_;
  std::vector<prometheus::Family<prometheus::Histogram>*> histogram_families_;
  // A source's last totals, and the series it fed last (its label rarely
  // changes: no lookup by label string each pass).
  struct Source {
    std::vector<uint64_t> last;
    std::string label;
    Series* series = nullptr;
  };
  std::unordered_map<std::string, Series> series_;  // nodes: stable addresses
  std::unordered_map<uint64_t, Source> sources_;
  std::vector<double> increments_;  // one histogram's, reused
};

}  // namespace kscope
