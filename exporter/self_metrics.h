// kscope's metrics about itself: build, probe state, sampling.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <set>
#include <string>

namespace kscope {

struct BuildInfo {
  std::string version, revision, libbpf_version, kernel_release;
};
BuildInfo current_build_info();

class SelfMetrics {
 public:
  SelfMetrics(prometheus::Registry& registry, const BuildInfo& build);
  void probe_up(const std::string& probe, bool up);
  void probe_attached(const std::string& probe, const std::set<std::string>& kinds);
  void sampled(double seconds);

 private:
  prometheus::Family<prometheus::Gauge>& probe_up_;
  prometheus::Family<prometheus::Gauge>& attach_info_;
  prometheus::Histogram& sample_duration_;
  prometheus::Counter& samples_;
};

}  // namespace kscope
