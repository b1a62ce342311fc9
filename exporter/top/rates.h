// From two scrapes to what `kscope top` shows: per-second rates of every
// kscope counter summed over cgroup, zombies now, and per-cgroup activity.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "top/exposition.h"

namespace kscope::top {

struct CounterRow {
  std::string name;  // without "kscope_"; other labels than cgroup kept: {probe="fd"}
  double rate = 0;   // per second
  double total = 0;  // summed over cgroup
};

struct CgroupRow {
  std::string cgroup;  // the label value
  std::string name;    // systemd unit or namespace/pod, from kscope_cgroup_info
  double open_minus_close = 0, bytes = 0, forks = 0;  // per second
  bool active = false;                                // any of its counters moved
};

enum class SortBy { kOpenMinusClose, kBytes, kForks };
const char* sort_name(SortBy s);
void sort_cgroups(std::vector<CgroupRow>& rows, SortBy by);

struct View {
  double seconds = 0;  // the rates' window
  std::vector<CounterRow> counters;
  std::optional<double> zombies;
  std::vector<CgroupRow> cgroups;      // with a cgroup label only; unsorted
  std::map<std::string, bool> probes;  // kscope_probe_up
};

class RateTracker {
 public:
  // sample_interval: kscope's, when known. Then rates are over kscope's
  // clock (new samples x interval), exact whatever the polling phase;
  // otherwise over the time between scrapes.
  explicit RateTracker(std::optional<std::chrono::milliseconds> sample_interval)
      : interval_(sample_interval) {}
  // A view when `s` brings new samples since the last call; nullopt for the
  // first scrape (nothing to compare) and when kscope has not sampled since.
  std::optional<View> update(const Scrape& s, std::chrono::steady_clock::time_point at);

 private:
  std::optional<std::chrono::milliseconds> interval_;
  bool have_prev_ = false;
  std::map<std::string, double> prev_;  // series key -> value
  std::optional<double> prev_samples_;
  std::chrono::steady_clock::time_point prev_at_;
};

}  // namespace kscope::top
