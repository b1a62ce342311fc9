// Fuzzes what kscope reads out of names the kernel and the kubelet give it:
// cgroup paths (-> systemd unit, container id, pod uid), /proc/self/mountinfo
// (-> the cgroup2 mount) and pod log directory names (-> namespace, pod).
// Whatever the bytes, each label it yields has the documented shape.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cgroup/metadata.h"

namespace {

[[noreturn]] void broken(const char* what, std::string_view input, const std::string& value) {
  std::fprintf(stderr, "cgroup_path_fuzz: %s: \"%s\" from \"%.*s\"\n", what, value.c_str(),
               static_cast<int>(input.size()), input.data());
  std::abort();
}

bool lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// 8-4-4-4-12 hex digits, the form Kubernetes gives pod uids, or 32 hex
// digits, the kubelet's hash of a static pod's manifest.
bool is_uuid(std::string_view s) {
  if (s.size() == 32) return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !lower_hex(s[i])) return false;
  }
  return true;
}

// A whole '/'-separated segment of path.
bool is_segment(std::string_view path, std::string_view seg) {
  for (size_t at = path.find(seg); at != std::string_view::npos; at = path.find(seg, at + 1)) {
    bool starts = at == 0 || path[at - 1] == '/';
    bool ends = at + seg.size() == path.size() || path[at + seg.size()] == '/';
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const kscope::CgroupMeta meta = kscope::parse_cgroup_path(input);
  if (!meta.systemd_unit.empty() &&
      !((meta.systemd_unit.ends_with(".service") || meta.systemd_unit.ends_with(".scope")) &&
        is_segment(input, meta.systemd_unit)))
    broken("systemd_unit is not a .service or .scope segment", input, meta.systemd_unit);
  if (!meta.container_id.empty() &&
      !(meta.container_id.size() == 64 &&
        meta.container_id.find_first_not_of("0123456789abcdef") == std::string::npos &&
        input.find(meta.container_id) != std::string_view::npos))
    broken("container_id is not 64 hex digits of the path", input, meta.container_id);
  if (!meta.pod_uid.empty() && !is_uuid(meta.pod_uid))
    broken("pod_uid is not a pod uid", input, meta.pod_uid);

  if (auto mount = kscope::find_cgroup2_mount(input))
    if (mount->empty() || mount->size() > input.size())
      broken("cgroup2 mount point longer than its line", input, *mount);

  if (auto entry = kscope::PodIndex::parse_entry(input)) {
    const auto& [uid, pod] = *entry;
    if (!is_uuid(uid) || pod.namespace_.empty() || pod.name.empty() ||
        pod.namespace_.find('_') != std::string::npos || pod.name.find('_') != std::string::npos)
      broken("pod log directory misread", input, pod.namespace_ + "_" + pod.name + "_" + uid);
  }
  return 0;
}
