// The exporter's own process_* metrics, named and described as the Go client's
// process collector does, so standard dashboards and alerts work unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace kscope {

// The fields of /proc/<pid>/stat that the collector needs.
struct ProcStat {
  std::string comm;  // without the surrounding parentheses
  char state = '?';
  std::uint64_t utime_ticks = 0;      // field 14
  std::uint64_t stime_ticks = 0;      // field 15
  std::uint64_t starttime_ticks = 0;  // field 22: clock ticks after boot
  std::uint64_t vsize_bytes = 0;      // field 23
  std::int64_t rss_pages = 0;         // field 24
};

// Parses the text of /proc/<pid>/stat. comm may hold spaces and ')', so fields
// are counted from the last ')'. nullopt if malformed or truncated.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// The "btime" line of /proc/stat: boot time in seconds since the Unix epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_text);

// Soft "Max open files" limit from /proc/<pid>/limits ("unlimited" becomes
// 2^64-1, as in the Go client).
std::optional<double> parse_max_open_files(std::string_view limits_text);

class SelfProcessCollector : public prometheus::Collectable {
 public:
  // Reads <proc_root>/<pid>/{stat,fd,limits} and <proc_root>/stat; tests point
  // proc_root at a fixture directory.
  explicit SelfProcessCollector(std::string proc_root = "/proc", std::string pid = "self");

  // Fresh values on every call. A metric whose source cannot be read or parsed
  // is left out; never throws on I/O or parse errors (runs on the HTTP thread).
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string proc_root_;
  std::string pid_;
};

}  // namespace kscope
