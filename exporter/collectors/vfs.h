// vfs module: reads and writes (calls, errors, bytes, sizes), unlinks, fsyncs.
#pragma once

#include <linux/types.h>

#include <optional>

#include "bpf/object.h"
#include "collector.h"
#include "collectors/module_stats.h"
#include "probes/vfs.h"
#include "vfs.skel.h"

namespace kscope {

class VfsCollector : public Collector {
 public:
  explicit VfsCollector(const CollectorContext& ctx) : ctx_(ctx) {}
  void start() override;
  void sample() override;
  void sample_kernel_usage() override { stats_->sample_kernel_usage(); }
  const Attachment& attachment() const override { return attachment_; }

 private:
  CollectorContext ctx_;
  SkelPtr<vfs_bpf> skel_{nullptr, vfs_bpf__destroy};
  Attachment attachment_;
  std::optional<ModuleStats> stats_;
};

}  // namespace kscope
