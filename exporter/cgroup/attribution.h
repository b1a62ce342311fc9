// Turns the kernel's cgroup ids into bounded `cgroup` label values, and
// decides when a removed cgroup's series go. Used by the sampling thread
// only (Collect() aside, which just counts scrapes).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bpf/object.h"
#include "cgroup/metadata.h"

namespace kscope {

class CgroupAttribution : public prometheus::Collectable {
 public:
  static constexpr const char* kOther = "other";

  // root: the cgroup2 mount point. max_series: live label values at most
  // (past it, cgroup="other").
  CgroupAttribution(std::string root, uint32_t max_series, std::string pods_log_dir,
                    prometheus::Registry& registry);

  // Each sampling pass: begin_pass(), label()/gone() for every id the maps
  // hold, end_pass().
  void begin_pass();
  // The label for a cgroup id: its path relative to the mount ("/" for the
  // root), or "other" past max_series and for what cannot be named. The
  // same for every module in a pass (worked out once); valid until the
  // next begin_pass().
  const std::string& label(uint64_t id);
  // The cgroup is gone: publish its last counts, then delete its entries.
  // Call after label(id) in the same pass.
  bool gone(uint64_t id) const { return dead_.count(id) != 0 && !ids_.count(id); }
  void end_pass();

  // Where removed cgroup ids come from (hints, confirmed here); nullopt
  // means some were lost. Without one, every cgroup in the maps is checked
  // at every pass.
  using RemovalSource = std::function<std::optional<std::vector<uint64_t>>()>;
  void set_removal_source(RemovalSource source) { removals_ = std::move(source); }

  // Called (on the sampling thread) when a label's series must disappear.
  void on_remove(std::function<void(const std::string&)> listener);

  // Counts scrapes: a removed cgroup's series stay until one has seen them.
  std::vector<prometheus::MetricFamily> Collect() const override;

  // Every label value with series now, "other" included.
  std::vector<std::string> labels() const;

 private:
  void rescan();
  bool alive(uint64_t id);
  bool confirm(uint64_t id);
  // Whether path (relative to the mount) still leads to cgroup id.
  bool at_path(uint64_t id, const std::string& path) const;
  void add_info(const std::string& path);
  std::string find_label(uint64_t id);

  std::string root_;
  uint32_t max_series_;
  PodIndex pods_;
  Fd root_fd_;  // the mount, for liveness checks relative to it
  prometheus::Family<prometheus::Gauge>& info_;
  prometheus::Gauge& cgroups_gauge_;

  std::unordered_map<uint64_t, std::string> ids_;                // live cgroups, from the last scan
  std::unordered_map<uint64_t, std::string> dead_;               // removed: id -> path
  std::map<uint64_t, uint64_t> dead_since_;                      // id -> pass it was found removed
  std::unordered_map<std::string, prometheus::Gauge*> labeled_;  // paths with series -> info child
  struct PassLabel {
    uint64_t pass;
    std::string label;
  };
  std::unordered_map<uint64_t, PassLabel> labels_;  // worked out in pass `pass`
  struct Pending {
    uint64_t pass, scrapes;
  };
  std::map<std::string, Pending> pending_removal_;
  std::set<uint64_t> unknown_last_pass_, unknown_this_pass_;
  std::vector<std::function<void(const std::string&)>> listeners_;
  bool rescanned_ = false;
  RemovalSource removals_;
  bool check_all_ = true;  // this pass: stat every id the maps hold
  uint64_t pass_ = 0;
  mutable std::atomic<uint64_t> scrapes_{0};
};

}  // namespace kscope
