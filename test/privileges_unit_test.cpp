// Which capability is missing for what (no kernel: the sets are given), the
// memlock warning for kernels before 5.11, fdinfo parsing, bpf_stats config.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include "bpf/kernel_usage.h"
#include "config.h"
#include "privileges.h"

namespace kscope {
namespace {

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }
const uint64_t kNeeded = bit(CAP_BPF) | bit(CAP_PERFMON) | bit(CAP_DAC_READ_SEARCH);
const PrivilegeNeeds kDefault{};

TEST(Privileges, NothingMissingWithTheNeededSet) {
  EXPECT_EQ(privilege_problem(kDefault, kNeeded, Tracefs::kReadable), std::nullopt);
  // Root's own tracefs: no CAP_DAC_READ_SEARCH needed to read it.
  EXPECT_EQ(privilege_problem(kDefault, bit(CAP_BPF) | bit(CAP_PERFMON), Tracefs::kReadable),
            std::nullopt);
}

TEST(Privileges, EachMissingOneIsNamedWithWhy) {
  auto only = [](uint64_t held, Tracefs t) { return missing_privileges(kDefault, held, t); };
  auto bpf = only(kNeeded & ~bit(CAP_BPF), Tracefs::kReadable);
  ASSERT_EQ(bpf.size(), 1u);
  EXPECT_TRUE(bpf[0].starts_with("CAP_BPF (load BPF programs")) << bpf[0];
  auto perfmon = only(kNeeded & ~bit(CAP_PERFMON), Tracefs::kReadable);
  ASSERT_EQ(perfmon.size(), 1u);
  EXPECT_TRUE(perfmon[0].starts_with("CAP_PERFMON (")) << perfmon[0];
  auto dac = only(kNeeded & ~bit(CAP_DAC_READ_SEARCH), Tracefs::kUnreadable);
  ASSERT_EQ(dac.size(), 1u);
  EXPECT_TRUE(dac[0].starts_with("CAP_DAC_READ_SEARCH (")) << dac[0];
}

TEST(Privileges, SysAdminStandsInForBpfAndPerfmon) {
  EXPECT_EQ(privilege_problem(kDefault, bit(CAP_SYS_ADMIN), Tracefs::kReadable), std::nullopt);
}

TEST(Privileges, UnmountedTracefsNeedsSysAdminOrAMount) {
  auto missing = missing_privileges(kDefault, kNeeded, Tracefs::kUnmounted);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("mount -t tracefs nodev /sys/kernel/tracing"), std::string::npos);
  EXPECT_TRUE(
      missing_privileges(kDefault, kNeeded | bit(CAP_SYS_ADMIN), Tracefs::kUnmounted).empty());
}

TEST(Privileges, NoTracefsNeededWithoutSyscallTracepoints) {
  PrivilegeNeeds fentry_only{true, false, false};
  EXPECT_EQ(privilege_problem(fentry_only, bit(CAP_BPF) | bit(CAP_PERFMON), Tracefs::kUnmounted),
            std::nullopt);
}

TEST(Privileges, NoModuleNeedsNothing) {
  PrivilegeNeeds none{false, false, false};
  EXPECT_EQ(privilege_problem(none, 0, Tracefs::kUnmounted), std::nullopt);
}

TEST(Privileges, BpfStatsNeedSysAdmin) {
  PrivilegeNeeds stats{true, true, true};
  auto line = privilege_problem(stats, kNeeded, Tracefs::kReadable);
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->starts_with("missing capability CAP_SYS_ADMIN (bpf_stats: true")) << *line;
  EXPECT_EQ(privilege_problem(stats, kNeeded | bit(CAP_SYS_ADMIN), Tracefs::kReadable),
            std::nullopt);
}

TEST(Privileges, SeveralMissingMakeOneLine) {
  auto line = privilege_problem(kDefault, 0, Tracefs::kUnreadable);
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->starts_with("missing capabilities CAP_BPF (")) << *line;
  EXPECT_EQ(line->find('\n'), std::string::npos);
  for (const char* cap : {"CAP_PERFMON (", "CAP_DAC_READ_SEARCH ("})
    EXPECT_NE(line->find(cap), std::string::npos) << *line;
}

TEST(MemlockWarning, OnlyBefore511WithoutUnlimitedOrSysResource) {
  EXPECT_TRUE(memlock_warning("5.10.0-28-amd64", kNeeded, false));
  EXPECT_EQ(memlock_warning("5.10.0-28-amd64", kNeeded, true), std::nullopt);
  EXPECT_EQ(memlock_warning("5.10.0-28-amd64", kNeeded | bit(CAP_SYS_RESOURCE), false),
            std::nullopt);
  EXPECT_EQ(memlock_warning("5.11.0", kNeeded, false), std::nullopt);
  EXPECT_EQ(memlock_warning("6.1.0-18-amd64", kNeeded, false), std::nullopt);
  EXPECT_EQ(memlock_warning("garbage", kNeeded, false), std::nullopt);
}

TEST(KernelUsage, MemlockFromFdinfo) {
  const std::string map_fdinfo =
      "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t2074\nmap_type:\t5\nkey_size:\t8\n"
      "value_size:\t32\nmax_entries:\t2001\nmap_flags:\t0x1\nmap_extra:\t0x0\n"
      "memlock:\t33968\nmap_id:\t16429\nfrozen:\t0\n";
  EXPECT_EQ(parse_fdinfo_memlock(map_fdinfo), 33968u);
  EXPECT_EQ(parse_fdinfo_memlock("pos:\t0\nflags:\t02\n"), std::nullopt);
}

TEST(KernelUsage, MapLabelDropsLibbpfsObjectPrefix) {
  EXPECT_EQ(map_label("cgroup_stats"), "cgroup_stats");
  EXPECT_EQ(map_label("fd_bpf.rodata"), ".rodata");
}

TEST(Config, BpfStatsOffByDefaultAndParsed) {
  std::set<std::string> modules{"fd"};
  EXPECT_FALSE(default_config(modules).bpf_stats);
  EXPECT_TRUE(parse_config("bpf_stats: true\n", "t.yml", modules).bpf_stats);
  EXPECT_NE(to_yaml(parse_config("bpf_stats: true\n", "t.yml", modules)).find("bpf_stats: true"),
            std::string::npos);
  try {
    parse_config("bpf_stats: sometimes\n", "t.yml", modules);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "t.yml:1: bpf_stats: expected true or false, got \"sometimes\"");
  }
}

}  // namespace
}  // namespace kscope
