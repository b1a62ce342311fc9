// What a cgroup v2 path says about its owner: systemd unit, container,
// Kubernetes pod. Pure parsing, no I/O but PodIndex::scan.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kscope {

struct CgroupMeta {
  std::string systemd_unit;  // "ssh.service", "cri-containerd-<id>.scope"
  std::string container_id;  // 64 hex digits
  std::string pod_uid;       // canonical, with '-'
};

// path: relative to the cgroup2 mount, "/" for the root.
CgroupMeta parse_cgroup_path(std::string_view path);

// The cgroup2 mount point from /proc/self/mountinfo text, if any.
std::optional<std::string> find_cgroup2_mount(std::string_view mountinfo);

// Pod names by uid from the kubelet's log directories, named
// <namespace>_<pod>_<uid>.
class PodIndex {
 public:
  explicit PodIndex(std::string dir) : dir_(std::move(dir)) {}
  void scan();
  struct Pod {
    std::string namespace_, name;
  };
  std::optional<Pod> find(const std::string& uid) const;
  // One directory entry name -> (uid, pod), or nullopt if not of that form.
  static std::optional<std::pair<std::string, Pod>> parse_entry(std::string_view name);

 private:
  std::string dir_;
  std::map<std::string, Pod> by_uid_;
};

}  // namespace kscope
