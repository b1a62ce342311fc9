// Which cgroups were removed since the last look, from a BPF program on
// the cgroup_rmdir tracepoint: attribution confirms these few instead of
// checking every cgroup it knows at every sample.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "bpf/object.h"

struct cgroup_rmdir_bpf;

namespace kscope {

class RmdirWatch {
 public:
  // Loads and attaches; throws Error.
  RmdirWatch();
  // Removed cgroup ids since the last call (hints), or nullopt when some
  // were lost (the map was full): then check everything once.
  std::optional<std::vector<uint64_t>> drain();

 private:
  SkelPtr<cgroup_rmdir_bpf> skel_;
  LinkPtr link_;  // after skel_: detached first
  uint64_t lost_seen_ = 0;
};

}  // namespace kscope
