#include "cgroup/metadata.h"

#include <dirent.h>

#include <algorithm>
#include <sstream>
#include <vector>

namespace kscope {
namespace {

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

// A pod uid as the kubelet writes it in cgroup names: 8-4-4-4-12 hex digits,
// with '-' (cgroupfs driver) or '_' (systemd driver) between the groups; or,
// for a static pod (from a manifest file), 32 hex digits: the kubelet's hash
// of the manifest, in its cgroup and its pods log directory alike.
bool is_pod_uid(std::string_view s) {
  if (s.size() == 32) return is_hex(s);
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool sep = i == 8 || i == 13 || i == 18 || i == 23;
    if (sep ? s[i] != '-' && s[i] != '_' : !is_hex(s.substr(i, 1))) return false;
  }
  return true;
}

// "<prefix><64 hex>.scope" -> the hex id.
std::optional<std::string> scoped_id(std::string_view seg, std::string_view prefix) {
  if (!seg.starts_with(prefix) || !ends_with(seg, ".scope")) return std::nullopt;
  std::string_view id = seg.substr(prefix.size(), seg.size() - prefix.size() - 6);
  if (id.size() != 64 || !is_hex(id)) return std::nullopt;
  return std::string(id);
}

// Octal escapes of mountinfo (\040 for a space).
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += static_cast<char>(v);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

CgroupMeta parse_cgroup_path(std::string_view path) {
  CgroupMeta meta;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    start = end + 1;
    if (seg.empty()) continue;
    if (ends_with(seg, ".service") || ends_with(seg, ".scope")) meta.systemd_unit = seg;
    for (std::string_view prefix : {"docker-", "cri-containerd-", "crio-", "libpod-"})
      if (auto id = scoped_id(seg, prefix)) meta.container_id = *id;
    if (seg.size() == 64 && is_hex(seg)) meta.container_id = seg;  // cgroupfs driver
    // systemd driver: kubepods-<qos>-pod<uid with _>.slice or kubepods-pod<uid>.slice;
    // cgroupfs driver: pod<uid>.
    std::string_view uid;
    if (seg.starts_with("kubepods") && ends_with(seg, ".slice")) {
      size_t at = seg.find("-pod");
      if (at != std::string_view::npos) uid = seg.substr(at + 4, seg.size() - at - 4 - 6);
    } else if (seg.starts_with("pod") && seg.size() > 3) {
      uid = seg.substr(3);
    }
    if (is_pod_uid(uid)) {
      std::string u(uid);
      std::replace(u.begin(), u.end(), '_', '-');
      meta.pod_uid = u;
    }
  }
  return meta;
}

std::optional<std::string> find_cgroup2_mount(std::string_view mountinfo) {
  std::istringstream in{std::string(mountinfo)};
  for (std::string line; std::getline(in, line);) {
    // id parent major:minor root mount-point options [optional...] - fstype source super
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    head >> id >> parent >> dev >> root >> mount_point;
    if (!mount_point.empty()) return unescape(mount_point);
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, PodIndex::Pod>> PodIndex::parse_entry(std::string_view name) {
  auto a = name.find('_');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = name.find('_', a + 1);
  if (b == std::string_view::npos || name.find('_', b + 1) != std::string_view::npos)
    return std::nullopt;
  std::string_view uid = name.substr(b + 1);
  if (a == 0 || b == a + 1 || !is_pod_uid(uid)) return std::nullopt;
  return std::pair{std::string(uid),
                   Pod{std::string(name.substr(0, a)), std::string(name.substr(a + 1, b - a - 1))}};
}

void PodIndex::scan() {
  by_uid_.clear();
  DIR* d = opendir(dir_.c_str());
  if (!d) return;  // not a Kubernetes node, or not mounted: no pod names
  while (dirent* e = readdir(d))
    if (auto entry = parse_entry(e->d_name)) by_uid_.insert(*entry);
  closedir(d);
}

std::optional<PodIndex::Pod> PodIndex::find(const std::string& uid) const {
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return std::nullopt;
  return it->second;
}

}  // namespace kscope
