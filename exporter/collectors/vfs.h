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
  std::set<std::string> attach_kinds() const override { return attachment_.kinds; }

 private:
  CollectorContext ctx_;
  SkelPtr<vfs_bpf> skel_{nullptr, vfs_bpf__destroy};
  Attachment attachment_;
  std::optional<ModuleStats> stats_;
};

}  // namespace kscope
