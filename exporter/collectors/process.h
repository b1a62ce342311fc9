// process module: processes and threads created, fork errors, exits,
// releases, and the exact number of zombie processes.
#pragma once

#include <linux/types.h>
#include <prometheus/gauge.h>

#include <map>
#include <optional>
#include <vector>

#include "bpf/object.h"
#include "collector.h"
#include "collectors/module_stats.h"
#include "probes/process.h"
#include "process.skel.h"

namespace kscope {

class ProcessCollector : public Collector {
 public:
  explicit ProcessCollector(const CollectorContext& ctx) : ctx_(ctx) {}
  void start() override;
  void sample() override;
  void sample_kernel_usage() override { stats_->sample_kernel_usage(); }
  const Attachment& attachment() const override { return attachment_; }

 private:
  // Runs the task iterator: one record per zombie process, now.
  std::vector<process_zombie> list_zombies();

  CollectorContext ctx_;
  SkelPtr<process_bpf> skel_{nullptr, process_bpf__destroy};
  Attachment attachment_;
  bpf_link* zombie_iter_ = nullptr;  // owned by attachment_
  std::optional<ModuleStats> stats_;
  prometheus::Family<prometheus::Gauge>* zombies_ = nullptr;
  std::map<std::string, prometheus::Gauge*> zombie_series_;  // by cgroup label
};

}  // namespace kscope
