// What every probe module does with the maps probes/kscope.bpf.h gives it
// (stats, cgroup_stats, the cgroup cache, overflow_events): size them, read them each
// sample, publish node-wide or per cgroup, delete removed cgroups' entries;
// and what the module's maps and programs cost in the kernel.
#pragma once

#include <bpf/libbpf.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "bpf/kernel_usage.h"
#include "bpf/percpu_rows.h"
#include "collectors/cgroup_cache.h"
#include "collector.h"
#include "metrics.h"

namespace kscope {

class ModuleStats {
 public:
  // Before load: sizes cgroup_stats for the context (1 entry when counting
  // node-wide). Returns whether the kernel side should attribute.
  static bool configure(bpf_object* obj, const CollectorContext& ctx);

  // After load: inserts the overflow key, registers the families (and
  // kscope_bpf_* for obj's maps and programs, labeled probe).
  ModuleStats(const std::string& probe, bpf_object* obj, size_t words, const CollectorContext& ctx,
              std::span<const CounterSpec> counters, std::span<const HistogramSpec> histograms);
  void sample();
  void sample_kernel_usage();

 private:
  std::string probe_;
  size_t words_;
  CgroupAttribution* attribution_;
  int stats_fd_, cgroup_fd_, overflow_fd_;
  std::shared_ptr<StatsPublisher> publisher_;
  std::optional<CgroupCache> cache_;
  PercpuReader reader_;
  PercpuRows rows_;  // the per-cgroup map as read this pass, kept for its buffers
  KernelUsage kernel_usage_;
  prometheus::Gauge* entries_ = nullptr;
  prometheus::Gauge* cached_ = nullptr;
  prometheus::Counter* overflow_ = nullptr;
  uint64_t overflow_last_ = 0;
};

}  // namespace kscope
