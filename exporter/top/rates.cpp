#include "top/rates.h"

#include <algorithm>

namespace kscope::top {
namespace {

constexpr std::string_view kPrefix = "kscope_";

// fd, vfs, then processes: the order of the README's table.
int module_rank(const std::string& name) {
  int rank = 0;
  for (std::string_view p : {"fd_", "vfs_", "process_", "thread_", "task_"}) {
    if (name.starts_with(p)) return rank;
    rank++;
  }
  return rank;
}

std::string display_name(const Series& s) {
  std::string name = s.name.substr(kPrefix.size());
  std::string labels;
  for (const auto& [k, v] : s.labels)
    if (k != "cgroup") labels += (labels.empty() ? "" : ",") + k + "=\"" + v + "\"";
  return labels.empty() ? name : name + "{" + labels + "}";
}

std::string cgroup_name(const std::map<std::string, std::string>& l) {
  auto get = [&](const char* k) {
    auto it = l.find(k);
    return it == l.end() ? std::string() : it->second;
  };
  if (!get("pod").empty())
    return (get("namespace").empty() ? "" : get("namespace") + "/") + get("pod");
  if (!get("systemd_unit").empty()) return get("systemd_unit");
  if (!get("container_id").empty()) return "container " + get("container_id").substr(0, 12);
  return "";
}

}  // namespace

const char* sort_name(SortBy s) {
  switch (s) {
    case SortBy::kOpenMinusClose:
      return "opens-closes";
    case SortBy::kBytes:
      return "bytes";
    case SortBy::kForks:
      return "forks";
  }
  return "?";
}

void sort_cgroups(std::vector<CgroupRow>& rows, SortBy by) {
  auto key = [by](const CgroupRow& r) {
    return by == SortBy::kOpenMinusClose ? r.open_minus_close
           : by == SortBy::kBytes        ? r.bytes
                                         : r.forks;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const CgroupRow& a, const CgroupRow& b) {
    if (key(a) != key(b)) return key(a) > key(b);
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.cgroup < b.cgroup;
  });
}

std::optional<View> RateTracker::update(const Scrape& s, std::chrono::steady_clock::time_point at) {
  std::optional<double> samples;
  for (const auto& series : s.series)
    if (series.name == "kscope_samples_total") samples = series.value;
  if (have_prev_ && samples && prev_samples_ && *samples < *prev_samples_)
    have_prev_ = false;  // kscope restarted: its counters did too
  if (have_prev_ && samples && prev_samples_ && *samples == *prev_samples_)
    return std::nullopt;  // no new sample yet: nothing new to show

  double seconds = std::chrono::duration<double>(at - prev_at_).count();
  if (have_prev_ && interval_ && samples && prev_samples_)
    seconds = (*samples - *prev_samples_) * std::chrono::duration<double>(*interval_).count();

  View v;
  v.seconds = seconds;
  std::map<std::string, CounterRow> counters;
  std::map<std::string, CgroupRow> cgroups;
  std::map<std::string, double> now;
  for (const auto& series : s.series) {
    const std::string& name = series.name;
    if (!name.starts_with(kPrefix)) continue;
    std::string key = series.key();
    now[key] = series.value;
    auto cg = series.labels.find("cgroup");
    if (name == "kscope_probe_up") {
      v.probes[series.labels.count("probe") ? series.labels.at("probe") : "?"] = series.value == 1;
    } else if (name == "kscope_cgroup_info" && cg != series.labels.end()) {
      cgroups[cg->second].cgroup = cg->second;
      cgroups[cg->second].name = cgroup_name(series.labels);
    } else if (name == "kscope_process_zombies") {
      v.zombies = v.zombies.value_or(0) + series.value;
    }
    auto kind = s.kinds.find(name);
    if (kind == s.kinds.end() || kind->second != Kind::kCounter) continue;
    // Per series, then summed: a cgroup whose series left must not look
    // like a drop; a new one brings what it counted since it came.
    auto p = prev_.find(key);
    double inc = std::max(0.0, series.value - (p == prev_.end() ? 0 : p->second));
    CounterRow& row = counters[display_name(series)];
    row.total += series.value;
    row.rate += inc;
    if (cg == series.labels.end()) continue;
    CgroupRow& c = cgroups[cg->second];
    c.cgroup = cg->second;
    c.active = c.active || inc > 0;
    if (name == "kscope_fd_open_calls_total") c.open_minus_close += inc;
    if (name == "kscope_fd_close_calls_total") c.open_minus_close -= inc;
    if (name == "kscope_vfs_read_bytes_total" || name == "kscope_vfs_write_bytes_total")
      c.bytes += inc;
    if (name == "kscope_process_created_total" || name == "kscope_thread_created_total")
      c.forks += inc;
  }

  bool first = !have_prev_;
  have_prev_ = true;
  prev_ = std::move(now);
  prev_samples_ = samples;
  prev_at_ = at;
  if (first || seconds <= 0) return std::nullopt;

  for (auto& [name, row] : counters) {
    row.name = name;
    row.rate /= seconds;
    v.counters.push_back(row);
  }
  std::stable_sort(v.counters.begin(), v.counters.end(), [](const auto& a, const auto& b) {
    return module_rank(a.name) < module_rank(b.name);
  });
  for (auto& [path, row] : cgroups) {
    row.open_minus_close /= seconds;
    row.bytes /= seconds;
    row.forks /= seconds;
    v.cgroups.push_back(row);
  }
  return v;
}

}  // namespace kscope::top
