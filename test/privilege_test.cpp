// kscope as an unprivileged user (nobody) holding exactly the capabilities
// it needs, handed out by setpriv: it attaches every probe and counts; with
// any one of them missing it exits non-zero with one line naming it. And
// bpf_stats: what it publishes with root, and its CAP_SYS_ADMIN.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <bitset>

#include "bpf_test_util.h"
#include "e2e_util.h"

namespace kscope::test {
namespace {

const std::string kBinary = KSCOPE_BINARY;
const char* kSetpriv = "/usr/bin/setpriv";
// What kscope needs here (capability(7) names, as setpriv spells them).
const std::vector<std::string> kNeeded{"bpf", "perfmon", "dac_read_search"};
const std::map<std::string, int> kCapBits{
    {"dac_read_search", 2}, {"sys_admin", 21}, {"perfmon", 38}, {"bpf", 39}};

std::optional<std::string> setpriv_unavailable() {
  if (geteuid() != 0) return "needs root to hand out capabilities with setpriv";
  if (access(kSetpriv, X_OK) != 0) return "setpriv missing (util-linux)";
  return bpf_unavailable();
}

// argv running `kscope args` as nobody with exactly `caps` (effective,
// permitted, inheritable, ambient and bounding), optionally behind `prefix`.
std::vector<std::string> as_nobody(const std::vector<std::string>& caps,
                                   const std::vector<std::string>& args,
                                   std::vector<std::string> prefix = {}) {
  std::string set = "-all";
  for (const auto& c : caps) set += ",+" + c;
  std::vector<std::string> argv = std::move(prefix);
  for (const std::string& a :
       {std::string(kSetpriv), std::string("--reuid=65534"), std::string("--regid=65534"),
        std::string("--clear-groups"), "--inh-caps=" + set, "--ambient-caps=" + set,
        "--bounding-set=" + set, std::string("--no-new-privs"), std::string("--"), kBinary})
    argv.push_back(a);
  for (const auto& a : args) argv.push_back(a);
  return argv;
}

uint64_t status_field(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.starts_with(field + ":\t"))
      return std::stoull(line.substr(field.size() + 2), nullptr, 16);
  ADD_FAILURE() << field << " not in /proc/" << pid << "/status";
  return 0;
}

TEST(Privileges, ExactlyTheNeededCapabilitiesAttachEveryProbeAndCount) {
  if (auto why = setpriv_unavailable()) GTEST_SKIP() << *why;
  Child k(as_nobody(kNeeded, {"--web.listen-address=127.0.0.1:0"}));
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  auto before = scrape_after_samples(*port, 0, 1);
  for (const char* probe : {"fd", "vfs", "process"})
    EXPECT_EQ(before[std::string("kscope_probe_up{probe=\"") + probe + "\"}"], 1) << probe << "\n"
                                                                                  << k.log();

  // It is nobody, holding those three and nothing else.
  std::ifstream status("/proc/" + std::to_string(k.pid()) + "/status");
  std::string text((std::istreambuf_iterator<char>(status)), {});
  EXPECT_NE(text.find("\nUid:\t65534\t65534\t65534\t65534\n"), std::string::npos) << text;
  uint64_t want = 0;
  for (const auto& c : kNeeded) want |= uint64_t{1} << kCapBits.at(c);
  EXPECT_EQ(status_field(k.pid(), "CapEff"), want)
      << std::bitset<64>(status_field(k.pid(), "CapEff"));

  // And it counts: N opens of this process, node-wide at least N more.
  constexpr int kOpens = 2000;
  for (int i = 0; i < kOpens; i++) close(open("/dev/null", O_RDONLY));
  auto after = scrape_after_samples(*port, before["kscope_samples_total"], 2);
  EXPECT_GE(
      total(after, "kscope_fd_open_calls_total") - total(before, "kscope_fd_open_calls_total"),
      kOpens);
  EXPECT_EQ(k.log().find("level=error"), std::string::npos) << k.log();
  EXPECT_EQ(k.stop(), 0) << k.log();
}

// Exit status 1 and exactly one line, naming what is missing, before
// anything is loaded or listened on.
void expect_one_line_naming(const std::vector<std::string>& argv, const std::string& named) {
  auto [status, out] = run(argv);
  EXPECT_EQ(status, 1) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_TRUE(out.starts_with("kscope: error: missing capabilit")) << out;
  EXPECT_NE(out.find(named), std::string::npos) << out;
  EXPECT_EQ(out.find("listening"), std::string::npos) << "started before checking: " << out;
}

class OneFewer : public ::testing::TestWithParam<std::string> {};

TEST_P(OneFewer, ExitsNonZeroWithOneLineNamingIt) {
  if (auto why = setpriv_unavailable()) GTEST_SKIP() << *why;
  std::vector<std::string> caps;
  for (const auto& c : kNeeded)
    if (c != GetParam()) caps.push_back(c);
  std::string upper = GetParam();
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  expect_one_line_naming(as_nobody(caps, {"--web.listen-address=127.0.0.1:0"}),
                         "missing capability CAP_" + upper + " (");
}

INSTANTIATE_TEST_SUITE_P(EachNeeded, OneFewer, ::testing::ValuesIn(kNeeded),
                         [](const auto& info) { return info.param; });

TEST(Privileges, NoCapabilityAtAllNamesEveryOne) {
  if (auto why = setpriv_unavailable()) GTEST_SKIP() << *why;
  auto [status, out] = run(as_nobody({}, {"--web.listen-address=127.0.0.1:0"}));
  EXPECT_EQ(status, 1) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  for (const char* cap : {"CAP_BPF (", "CAP_PERFMON (", "CAP_DAC_READ_SEARCH ("})
    EXPECT_NE(out.find(cap), std::string::npos) << cap << " not named: " << out;
}

// With no module enabled nothing is loaded, and nothing is needed.
TEST(Privileges, NoModuleNeedsNoCapability) {
  if (auto why = setpriv_unavailable()) GTEST_SKIP() << *why;
  std::string config = write_temp(
      "attribution: none\nmodules:\n  fd: {enabled: false}\n  vfs: {enabled: false}\n"
      "  process: {enabled: false}\n");
  chmod(config.c_str(), 0644);  // nobody without CAP_DAC_READ_SEARCH reads it
  Child k(as_nobody({}, {"--web.listen-address=127.0.0.1:0", "--config.file=" + config}));
  auto port = k.port();
  EXPECT_TRUE(port) << k.log();
  EXPECT_EQ(k.stop(), 0) << k.log();
  unlink(config.c_str());
}

// Without tracefs (unmounted in a private mount namespace) and without
// CAP_SYS_ADMIN to mount it, the line says what to run instead.
TEST(Privileges, UnmountedTracefsWithoutSysAdminSaysToMountIt) {
  if (auto why = setpriv_unavailable()) GTEST_SKIP() << *why;
  if (access("/sys/kernel/tracing/events", F_OK) != 0)
    GTEST_SKIP() << "tracefs is not mounted at /sys/kernel/tracing: nothing to unmount";
  std::vector<std::string> prefix{"/usr/bin/unshare",
                                  "--mount",
                                  "--propagation",
                                  "private",
                                  "/bin/sh",
                                  "-c",
                                  "umount /sys/kernel/tracing && exec \"$@\"",
                                  "sh"};
  expect_one_line_naming(as_nobody(kNeeded, {"--web.listen-address=127.0.0.1:0"}, prefix),
                         "CAP_SYS_ADMIN (mount tracefs, which is not mounted; or run `mount -t "
                         "tracefs nodev /sys/kernel/tracing` before kscope)");
}

TEST(BpfStats, NeedCapSysAdmin) {
  if (auto why = setpriv_unavailable()) GTEST_SKIP() << *why;
  std::string config = write_temp("bpf_stats: true\n");
  expect_one_line_naming(
      as_nobody(kNeeded, {"--web.listen-address=127.0.0.1:0", "--config.file=" + config}),
      "missing capability CAP_SYS_ADMIN (bpf_stats: true turns on the kernel's BPF run-time "
      "statistics");
  unlink(config.c_str());
}

// Root, bpf_stats on: each probe's runs and run time rise with a known
// workload (its N opens and closes run fd's programs at least 2N times).
// Map sizes are there with or without.
TEST(BpfStats, ProgramRunsAndRunTimeAndMapBytesPerProbe) {
  KSCOPE_REQUIRE_BPF();
  std::string config = write_temp("sample_interval: 100ms\nbpf_stats: true\n");
  Child k({kBinary, "--web.listen-address=127.0.0.1:0", "--config.file=" + config});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  auto before = scrape_after_samples(*port, 0, 1);
  constexpr int kOpens = 3000;
  for (int i = 0; i < kOpens; i++) close(open("/dev/null", O_RDONLY));
  auto after = scrape_after_samples(*port, before["kscope_samples_total"], 2);
  const std::string fd = "{probe=\"fd\"}";
  EXPECT_GE(
      after["kscope_bpf_program_runs_total" + fd] - before["kscope_bpf_program_runs_total" + fd],
      2 * kOpens);
  // Each run takes some ns: at least 1 ns each, at most a millisecond.
  double seconds = after["kscope_bpf_program_run_seconds_total" + fd] -
                   before["kscope_bpf_program_run_seconds_total" + fd];
  EXPECT_GE(seconds, 2 * kOpens * 1e-9);
  EXPECT_LE(seconds, 2 * kOpens * 1e-3);
  for (const char* probe : {"fd", "vfs", "process"}) {
    for (const char* map : {"stats", "cgroup_stats", ".rodata"}) {
      std::string series =
          std::string("kscope_bpf_map_bytes{map=\"") + map + "\",probe=\"" + probe + "\"}";
      EXPECT_GT(after[series], 0) << series;
    }
    EXPECT_GT(after[std::string("kscope_bpf_program_runs_total{probe=\"") + probe + "\"}"], 0);
  }
  EXPECT_NE(k.log().find("BPF run-time statistics on"), std::string::npos) << k.log();
  EXPECT_EQ(k.stop(), 0) << k.log();
  unlink(config.c_str());
}

TEST(BpfStats, OffByDefaultAndThenAbsent) {
  KSCOPE_REQUIRE_BPF();
  Child k({kBinary, "--web.listen-address=127.0.0.1:0"});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  auto m = scrape_after_samples(*port, 0, 1);
  EXPECT_FALSE(has_series(m, "kscope_bpf_program_runs_total"));
  EXPECT_FALSE(has_series(m, "kscope_bpf_program_run_seconds_total"));
  EXPECT_TRUE(has_series(m, "kscope_bpf_map_bytes"));
  EXPECT_EQ(k.stop(), 0) << k.log();
}

}  // namespace
}  // namespace kscope::test
