#include "process_collector.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "prometheus/metric_type.h"

namespace kscope {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

// Fields 1..25 of a realistic stat line; utime=250 stime=50 starttime=12345
// vsize=104857600 rss=2560.
constexpr const char* kStatTail =
    " S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 1 0 12345 104857600 2560 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";

std::string stat_line(const std::string& comm) { return "1234 (" + comm + ")" + kStatTail; }

TEST(ParseProcStatTest, ReadsFieldsOfTypicalLine) {
  auto stat = parse_proc_stat(stat_line("kscope"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->comm, "kscope");
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 50u);
  EXPECT_EQ(stat->starttime_ticks, 12345u);
  EXPECT_EQ(stat->vsize_bytes, 104857600u);
  EXPECT_EQ(stat->rss_pages, 2560);
}

TEST(ParseProcStatTest, CommWithSpacesAndParentheses) {
  for (const std::string comm : {"a) b (c", "x y", ") ) )", "((", ""}) {
    SCOPED_TRACE(comm);
    auto stat = parse_proc_stat(stat_line(comm));
    ASSERT_TRUE(stat.has_value());
    EXPECT_EQ(stat->comm, comm);
    EXPECT_EQ(stat->state, 'S');
    EXPECT_EQ(stat->utime_ticks, 250u);
    EXPECT_EQ(stat->rss_pages, 2560);
  }
}

TEST(ParseProcStatTest, CommLookingLikeFieldsDoesNotShiftThem) {
  auto stat = parse_proc_stat(stat_line("a) R 9 9 9 9 9 9 9 9 9 9 777 888"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 50u);
}

TEST(ParseProcStatTest, RejectsMalformedText) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("\n"));
  EXPECT_FALSE(parse_proc_stat(std::string("1234 kscope") + kStatTail));  // no parentheses
  EXPECT_FALSE(parse_proc_stat(std::string("x (kscope)") + kStatTail));   // pid not a number
  EXPECT_FALSE(parse_proc_stat(std::string(") 1234 (") + kStatTail));     // ')' before '('
  // Truncated just before rss (field 24).
  EXPECT_FALSE(parse_proc_stat("1 (k) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 12345 4096"));
  // utime not a number.
  EXPECT_FALSE(parse_proc_stat("1 (k) S 1 1 1 0 -1 0 0 0 0 0 2x0 50 0 0 20 0 1 0 12345 4096 1"));
  // state is more than one character.
  EXPECT_FALSE(parse_proc_stat("1 (k) SS 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 12345 4096 1"));
}

TEST(ParseProcStatTest, ParsesOwnStat) {
  std::ifstream in("/proc/self/stat");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto stat = parse_proc_stat(text);
  ASSERT_TRUE(stat.has_value()) << text;
  EXPECT_EQ(stat->state, 'R');
  EXPECT_GT(stat->rss_pages, 0);
  EXPECT_GT(stat->vsize_bytes, 0u);
}

TEST(ParseBootTimeTest, FindsBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\ncpu0 1 2 3\nintr 5 0\nbtime 1700000000\nprocesses 9\n"),
            1700000000u);
  EXPECT_EQ(parse_boot_time("btime 42"), 42u);  // first line, no trailing newline
}

TEST(ParseBootTimeTest, RejectsMissingOrBadBtime) {
  EXPECT_FALSE(parse_boot_time(""));
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\nprocesses 9\n"));
  EXPECT_FALSE(parse_boot_time("btime soon\n"));
  EXPECT_FALSE(parse_boot_time("btimex 42\n"));
}

constexpr const char* kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 524288               files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";

TEST(ParseMaxOpenFilesTest, ReadsSoftLimit) { EXPECT_EQ(parse_max_open_files(kLimits), 1024.0); }

TEST(ParseMaxOpenFilesTest, UnlimitedIsMaxUint64) {
  EXPECT_EQ(parse_max_open_files("Max open files            unlimited            unlimited    "
                                 "        files     \n"),
            static_cast<double>(std::numeric_limits<std::uint64_t>::max()));
}

TEST(ParseMaxOpenFilesTest, RejectsMissingOrBadLine) {
  EXPECT_FALSE(parse_max_open_files(""));
  EXPECT_FALSE(parse_max_open_files("Max cpu time  unlimited  unlimited  seconds\n"));
  EXPECT_FALSE(parse_max_open_files("Max open files  many  524288  files\n"));
}

// A throwaway proc root, removed on destruction.
class FakeProc {
 public:
  FakeProc() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "process_collector_test.XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  ~FakeProc() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  void write(const std::string& relative, const std::string& content) const {
    std::filesystem::path path = std::filesystem::path(root_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }

 private:
  std::string root_;
};

std::map<std::string, MetricFamily> by_name(const std::vector<MetricFamily>& families) {
  std::map<std::string, MetricFamily> out;
  for (const auto& f : families) EXPECT_TRUE(out.emplace(f.name, f).second) << f.name;
  return out;
}

double value_of(const MetricFamily& f) {
  EXPECT_EQ(f.metric.size(), 1u) << f.name;
  if (f.metric.empty()) return -1;
  return f.type == MetricType::Counter ? f.metric[0].counter.value : f.metric[0].gauge.value;
}

TEST(ProcessCollectorTest, ComputesValuesFromFixture) {
  FakeProc proc;
  proc.write("4242/stat", stat_line("a) b (c"));
  proc.write("4242/limits", kLimits);
  proc.write("4242/fd/0", "");
  proc.write("4242/fd/1", "");
  proc.write("4242/fd/2", "");
  proc.write("4242/fd/7", "");
  proc.write("stat", "cpu  1 2 3\nbtime 1700000000\n");

  auto families = by_name(SelfProcessCollector(proc.root(), "4242").Collect());
  ASSERT_EQ(families.size(), 6u);
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  EXPECT_DOUBLE_EQ(value_of(families.at("process_cpu_seconds_total")), 300 / hz);
  EXPECT_DOUBLE_EQ(value_of(families.at("process_resident_memory_bytes")), 2560 * page);
  EXPECT_DOUBLE_EQ(value_of(families.at("process_virtual_memory_bytes")), 104857600.0);
  EXPECT_DOUBLE_EQ(value_of(families.at("process_open_fds")), 4.0);
  EXPECT_DOUBLE_EQ(value_of(families.at("process_max_fds")), 1024.0);
  EXPECT_DOUBLE_EQ(value_of(families.at("process_start_time_seconds")), 1700000000 + 12345 / hz);
}

TEST(ProcessCollectorTest, SkipsMetricsWhoseSourceIsMissingOrBroken) {
  FakeProc proc;
  EXPECT_TRUE(SelfProcessCollector(proc.root(), "4242").Collect().empty());
  EXPECT_TRUE(SelfProcessCollector("/nonexistent/proc", "self").Collect().empty());

  // Unparseable stat: only the fd metrics remain.
  proc.write("4242/stat", "garbage\n");
  proc.write("4242/limits", kLimits);
  proc.write("4242/fd/0", "");
  proc.write("stat", "btime 1700000000\n");
  auto families = by_name(SelfProcessCollector(proc.root(), "4242").Collect());
  EXPECT_EQ(families.size(), 2u);
  EXPECT_TRUE(families.count("process_open_fds"));
  EXPECT_TRUE(families.count("process_max_fds"));

  // Good stat but no btime: everything except the start time.
  proc.write("4242/stat", stat_line("k"));
  proc.write("stat", "cpu 1 2 3\n");
  families = by_name(SelfProcessCollector(proc.root(), "4242").Collect());
  EXPECT_EQ(families.size(), 5u);
  EXPECT_FALSE(families.count("process_start_time_seconds"));
}

TEST(ProcessCollectorTest, CollectsOwnProcess) {
  auto families = by_name(SelfProcessCollector().Collect());
  const std::map<std::string, MetricType> expected = {
      {"process_cpu_seconds_total", MetricType::Counter},
      {"process_resident_memory_bytes", MetricType::Gauge},
      {"process_virtual_memory_bytes", MetricType::Gauge},
      {"process_open_fds", MetricType::Gauge},
      {"process_max_fds", MetricType::Gauge},
      {"process_start_time_seconds", MetricType::Gauge},
  };
  ASSERT_EQ(families.size(), expected.size());
  for (const auto& [name, type] : expected) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(families.count(name));
    const MetricFamily& f = families.at(name);
    EXPECT_FALSE(f.help.empty());
    EXPECT_EQ(f.type, type);
    ASSERT_EQ(f.metric.size(), 1u);
    EXPECT_TRUE(f.metric[0].label.empty());
  }

  EXPECT_GE(value_of(families.at("process_cpu_seconds_total")), 0.0);
  EXPECT_GT(value_of(families.at("process_resident_memory_bytes")), 0.0);
  EXPECT_GE(value_of(families.at("process_virtual_memory_bytes")),
            value_of(families.at("process_resident_memory_bytes")));
  EXPECT_GE(value_of(families.at("process_open_fds")), 3.0);
  EXPECT_GT(value_of(families.at("process_max_fds")), 0.0);

  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = value_of(families.at("process_start_time_seconds"));
  // btime is whole seconds, so allow a little slack on the future side.
  EXPECT_LE(start, now + 2);
  EXPECT_GT(start, now - 24 * 3600);
}

TEST(ProcessCollectorTest, ValuesAreFreshOnEachCollect) {
  SelfProcessCollector collector;
  auto open_fds = [&] { return value_of(by_name(collector.Collect()).at("process_open_fds")); };
  const double before = open_fds();
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const double during = open_fds();
  for (int fd : fds) close(fd);
  EXPECT_EQ(during, before + 5);
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
}  // namespace kscope
