// fd module: open and close calls and their errors.
#pragma once

#include <memory>
#include <optional>

#include "bpf/object.h"
#include "collector.h"
#include <linux/types.h>

#include "fd.skel.h"
#include "probes/fd.h"
#include "collectors/module_stats.h"

namespace kscope {

class FdCollector : public Collector {
 public:
  explicit FdCollector(const CollectorContext& ctx) : ctx_(ctx) {}
  void start() override;
  void sample() override;
  void sample_kernel_usage() override { stats_->sample_kernel_usage(); }
  const Attachment& attachment() const override { return attachment_; }

 private:
  CollectorContext ctx_;
  SkelPtr<fd_bpf> skel_{nullptr, fd_bpf__destroy};
  Attachment attachment_;
  std::optional<ModuleStats> stats_;
};

}  // namespace kscope
