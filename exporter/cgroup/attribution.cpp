#include "cgroup/attribution.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <string_view>
#include <unordered_set>

#include "probes/cgroup_key.h"
#include "log.h"

namespace kscope {
namespace {

// How many passes a removed cgroup's id is remembered, for late events
// (a task's release runs after its cgroup may be gone).
constexpr uint64_t kRememberDeadPasses = 600;

}  // namespace

CgroupAttribution::CgroupAttribution(std::string root, uint32_t max_series,
                                     std::string pods_log_dir, prometheus::Registry& registry)
    : root_(std::move(root)),
      max_series_(max_series),
      pods_(std::move(pods_log_dir)),
      root_fd_(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
      info_(prometheus::BuildGauge()
                .Name("kscope_cgroup_info")
                .Help("Metadata of each attributed cgroup (always 1): systemd unit, container "
                      "id, pod uid, namespace and pod, where they apply.")
                .Register(registry)),
      cgroups_gauge_(prometheus::BuildGauge()
                         .Name("kscope_cgroups")
                         .Help("cgroups with series of their own now (at most max_cgroups).")
                         .Register(registry)
                         .Add({})) {
  pods_.scan();
  rescan();
}

void CgroupAttribution::rescan() {
  std::unordered_map<uint64_t, std::string> found;
  struct stat st;
  if (stat(root_.c_str(), &st) == 0) found[st.st_ino] = "/";
  // Directory by directory: cgroups are removed while the walk runs, and
  // one that vanished must cost only itself, not the rest of the walk.
  namespace fs = std::filesystem;
  std::vector<fs::path> dirs{root_};
  while (!dirs.empty()) {
    fs::path dir = std::move(dirs.back());
    dirs.pop_back();
    std::error_code ec;
    for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code entry_ec;
      if (!it->is_directory(entry_ec) || it->is_symlink(entry_ec)) continue;
      if (stat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile
      found[st.st_ino] = "/" + it->path().lexically_relative(root_).string();
      dirs.push_back(it->path());
    }
  }
  // A cgroup the walk missed (a directory it could not read) is removed
  // only if its path no longer leads to it.
  for (const auto& [id, path] : ids_)
    if (!found.count(id)) {
      if (at_path(id, path)) {
        found[id] = path;
        continue;
      }
      dead_[id] = path;
      dead_since_[id] = pass_;
    }
  ids_ = std::move(found);
  rescanned_ = true;
}

void CgroupAttribution::begin_pass() {
  pass_++;
  rescanned_ = false;
  check_all_ = true;
  if (removals_) {
    if (auto removed = removals_()) {
      check_all_ = false;
      for (uint64_t id : *removed) confirm(id);  // marks those really gone
    }
  }
  unknown_last_pass_ = std::move(unknown_this_pass_);
  unknown_this_pass_.clear();
}

bool CgroupAttribution::alive(uint64_t id) {
  if (!ids_.count(id)) return false;
  // With removal hints, the hinted ids were confirmed in begin_pass; without
  // (or when hints were lost), each id the maps hold gets one stat.
  return !check_all_ || confirm(id);
}

bool CgroupAttribution::at_path(uint64_t id, const std::string& path) const {
  struct stat st;
  const char* rel = path == "/" ? "." : path.c_str() + 1;
  return fstatat(root_fd_.get(), rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == id;
}

bool CgroupAttribution::confirm(uint64_t id) {
  auto it = ids_.find(id);
  if (it == ids_.end()) return false;
  // Relative to the mount's directory: no walk through /sys/fs/cgroup each
  // time. Gone, or another inode at that path: removed.
  if (at_path(id, it->second)) return true;
  dead_[id] = it->second;
  dead_since_[id] = pass_;
  ids_.erase(it);
  return false;
}

const std::string& CgroupAttribution::label(uint64_t id) {
  // Kept from pass to pass (no allocation for a cgroup seen before), and
  // worked out again once in each.
  auto it = labels_.try_emplace(id, PassLabel{UINT64_MAX, {}}).first;
  if (it->second.pass != pass_) {
    it->second.label = find_label(id);
    it->second.pass = pass_;
  }
  return it->second.label;
}

std::string CgroupAttribution::find_label(uint64_t id) {
  if (id == KSCOPE_OVERFLOW_CGROUP) return kOther;
  std::string path;
  bool live = false;
  if (alive(id)) {
    path = ids_.at(id);
    live = true;
  } else if (auto d = dead_.find(id); d != dead_.end()) {
    path = d->second;
  } else {
    if (!rescanned_) rescan();
    if (auto again = ids_.find(id); again != ids_.end()) {
      path = again->second;
      live = true;
    } else {
      // Created and removed between two scans: it cannot be named. Counted
      // as "other"; seen twice, it is treated as removed so its entry goes.
      if (unknown_last_pass_.count(id)) {
        dead_[id] = kOther;
        dead_since_[id] = pass_;
      }
      unknown_this_pass_.insert(id);
      return kOther;
    }
  }
  if (path == kOther) return kOther;
  if (live && !pending_removal_.empty())
    pending_removal_.erase(path);  // back (a service restarted: same path)
  if (labeled_.count(path)) return path;
  if (labeled_.size() >= max_series_) return kOther;
  add_info(path);
  return path;
}

void CgroupAttribution::add_info(const std::string& path) {
  CgroupMeta meta = parse_cgroup_path(path);
  prometheus::Labels labels{{"cgroup", path}};
  if (!meta.systemd_unit.empty()) labels["systemd_unit"] = meta.systemd_unit;
  if (!meta.container_id.empty()) labels["container_id"] = meta.container_id;
  if (!meta.pod_uid.empty()) {
    labels["pod_uid"] = meta.pod_uid;
    auto pod = pods_.find(meta.pod_uid);
    if (!pod) {
      pods_.scan();  // a pod new since the last scan
      pod = pods_.find(meta.pod_uid);
    }
    if (pod) {
      labels["namespace"] = pod->namespace_;
      labels["pod"] = pod->name;
    }
  }
  auto& g = info_.Add(labels);
  g.Set(1);
  labeled_[path] = &g;
}

void CgroupAttribution::end_pass() {
  uint64_t scrapes = scrapes_.load();
  std::erase_if(labels_, [this](const auto& kv) { return kv.second.pass != pass_; });
  // A path whose every id is gone: its final counts were published in this
  // pass; its series go once a scrape has seen them.
  std::unordered_set<std::string_view> live;
  if (!dead_.empty() || !pending_removal_.empty()) {  // else no path to look up
    live.reserve(ids_.size());
    for (const auto& [id, path] : ids_) live.insert(path);
  }
  for (const auto& [id, path] : dead_)
    if (labeled_.count(path) && !live.count(path) && !pending_removal_.count(path))
      pending_removal_[path] = {pass_, scrapes};
  for (auto it = pending_removal_.begin(); it != pending_removal_.end();) {
    const auto& [path, p] = *it;
    if (live.count(path)) {
      it = pending_removal_.erase(it);
    } else if (scrapes > p.scrapes && pass_ > p.pass) {
      for (auto& l : listeners_) l(path);
      if (auto g = labeled_.find(path); g != labeled_.end()) {
        info_.Remove(g->second);
        labeled_.erase(g);
      }
      it = pending_removal_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = dead_since_.begin(); it != dead_since_.end();) {
    if (pass_ - it->second > kRememberDeadPasses) {
      dead_.erase(it->first);
      it = dead_since_.erase(it);
    } else {
      ++it;
    }
  }
  cgroups_gauge_.Set(static_cast<double>(labeled_.size()));
}

std::vector<std::string> CgroupAttribution::labels() const {
  std::vector<std::string> out{kOther};
  for (const auto& [path, _] : labeled_) out.push_back(path);
  return out;
}

void CgroupAttribution::on_remove(std::function<void(const std::string&)> listener) {
  listeners_.push_back(std::move(listener));
}

std::vector<prometheus::MetricFamily> CgroupAttribution::Collect() const {
  scrapes_++;
  return {};
}

}  // namespace kscope
