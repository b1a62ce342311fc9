#include "process_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>
#include <utility>

#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace kscope {
namespace {

constexpr std::string_view kWhitespace = " \t\n";

// Splits on runs of whitespace.
std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = s.find_first_not_of(kWhitespace);
  while (pos != std::string_view::npos) {
    std::size_t end = s.find_first_of(kWhitespace, pos);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(pos, end - pos));
    pos = s.find_first_not_of(kWhitespace, end);
  }
  return out;
}

// Whole-token integer parse: "12x" or "" is an error, not 12 or 0.
template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T value{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

// /proc files report size 0, so read until EOF instead of by size.
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return std::nullopt;
  return text;
}

std::optional<double> count_dir_entries(const std::string& path) {
  std::error_code ec;
  std::filesystem::directory_iterator it(path, ec);
  if (ec) return std::nullopt;
  double n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  if (ec) return std::nullopt;
  return n;
}

prometheus::MetricFamily make_family(std::string name, std::string help,
                                     prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{std::move(name), std::move(help), type, {std::move(metric)}};
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // comm is whatever the process named itself, so only the last ')' is reliable.
  std::size_t open = text.find('(');
  std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  std::vector<std::string_view> pid = split_fields(text.substr(0, open));
  if (pid.size() != 1 || !parse_int<std::int64_t>(pid[0])) return std::nullopt;

  // fields[0] is field 3 (state), so field N is fields[N - 3].
  std::vector<std::string_view> fields = split_fields(text.substr(close + 1));
  constexpr std::size_t kRssIndex = 24 - 3;
  if (fields.size() <= kRssIndex || fields[0].size() != 1) return std::nullopt;

  auto utime = parse_int<std::uint64_t>(fields[14 - 3]);
  auto stime = parse_int<std::uint64_t>(fields[15 - 3]);
  auto starttime = parse_int<std::uint64_t>(fields[22 - 3]);
  auto vsize = parse_int<std::uint64_t>(fields[23 - 3]);
  auto rss = parse_int<std::int64_t>(fields[kRssIndex]);
  if (!utime || !stime || !starttime || !vsize || !rss) return std::nullopt;

  ProcStat stat;
  stat.comm = std::string(text.substr(open + 1, close - open - 1));
  stat.state = fields[0][0];
  stat.utime_ticks = *utime;
  stat.stime_ticks = *stime;
  stat.starttime_ticks = *starttime;
  stat.vsize_bytes = *vsize;
  stat.rss_pages = *rss;
  return stat;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_text) {
  while (!proc_stat_text.empty()) {
    std::size_t eol = proc_stat_text.find('\n');
    std::string_view line = proc_stat_text.substr(0, eol);
    std::vector<std::string_view> fields = split_fields(line);
    if (fields.size() == 2 && fields[0] == "btime") return parse_int<std::uint64_t>(fields[1]);
    if (eol == std::string_view::npos) break;
    proc_stat_text.remove_prefix(eol + 1);
  }
  return std::nullopt;
}

std::optional<double> parse_max_open_files(std::string_view limits_text) {
  // Line: "Max open files            1024                 524288               files"
  constexpr std::string_view kKey = "Max open files";
  std::size_t pos = limits_text.find(kKey);
  if (pos == std::string_view::npos || (pos > 0 && limits_text[pos - 1] != '\n')) {
    return std::nullopt;
  }
  std::string_view rest = limits_text.substr(pos + kKey.size());
  rest = rest.substr(0, rest.find('\n'));
  std::vector<std::string_view> fields = split_fields(rest);
  if (fields.empty()) return std::nullopt;
  if (fields[0] == "unlimited") {
    return static_cast<double>(std::numeric_limits<std::uint64_t>::max());
  }
  auto soft = parse_int<std::uint64_t>(fields[0]);
  if (!soft) return std::nullopt;
  return static_cast<double>(*soft);
}

SelfProcessCollector::SelfProcessCollector(std::string proc_root, std::string pid)
    : proc_root_(std::move(proc_root)), pid_(std::move(pid)) {}

std::vector<prometheus::MetricFamily> SelfProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  const std::string pid_dir = proc_root_ + "/" + pid_;

  std::optional<ProcStat> stat;
  if (auto text = read_file(pid_dir + "/stat")) stat = parse_proc_stat(*text);
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const long page_size = sysconf(_SC_PAGESIZE);

  if (stat && ticks_per_second > 0) {
    families.push_back(
        make_family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                    MetricType::Counter,
                    static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second));
  }

  if (auto open_fds = count_dir_entries(pid_dir + "/fd")) {
    families.push_back(make_family("process_open_fds", "Number of open file descriptors.",
                                   MetricType::Gauge, *open_fds));
  }

  std::optional<double> max_fds;
  if (auto text = read_file(pid_dir + "/limits")) max_fds = parse_max_open_files(*text);
  // Same value as the limits file; only a fallback for our own process.
  if (!max_fds && proc_root_ == "/proc" && pid_ == "self") {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      max_fds = static_cast<double>(limit.rlim_cur);
    }
  }
  if (max_fds) {
    families.push_back(make_family("process_max_fds", "Maximum number of open file descriptors.",
                                   MetricType::Gauge, *max_fds));
  }

  if (stat) {
    families.push_back(make_family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                   MetricType::Gauge, static_cast<double>(stat->vsize_bytes)));
  }
  if (stat && page_size > 0) {
    families.push_back(make_family("process_resident_memory_bytes",
                                   "Resident memory size in bytes.", MetricType::Gauge,
                                   static_cast<double>(stat->rss_pages) * page_size));
  }

  std::optional<std::uint64_t> boot_time;
  if (auto text = read_file(proc_root_ + "/stat")) boot_time = parse_boot_time(*text);
  if (stat && boot_time && ticks_per_second > 0) {
    families.push_back(
        make_family("process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                    static_cast<double>(*boot_time) +
                        static_cast<double>(stat->starttime_ticks) / ticks_per_second));
  }

  return families;
}

}  // namespace kscope
