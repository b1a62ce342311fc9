// Attach families, real BPF: auto takes the first family of auto_order()
// that loads and attaches and says why the ones before it did not; an
// explicit family attaches or fails naming module and hook; a kernel
// without BTF or without a function refuses just what needs it.
#include <fcntl.h>
#include <unistd.h>

#include "bpf/attach.h"
#include "bpf/error.h"
#include "bpf_test_util.h"

namespace kscope {
namespace {

using test::Probe;

TEST(AttachTargets, SyscallProgramsHookTheSyscallEntryPoint) {
  using V = std::vector<std::string>;
  EXPECT_EQ(target_candidates("fexit__openat"), (V{"__x64_sys_openat", "__do_sys_openat"}));
  EXPECT_EQ(target_candidates("fentry__close"), (V{"__x64_sys_close", "__do_sys_close"}));
  EXPECT_EQ(target_candidates("kret__fork"), (V{"__x64_sys_fork", "__do_sys_fork"}));
  EXPECT_EQ(target_candidates("kprobe__read"), (V{"__x64_sys_read", "__do_sys_read"}));
  EXPECT_EQ(target_candidates("fentry_fn__do_exit"), (V{"do_exit"}));
  EXPECT_EQ(target_candidates("kprobe_fn__wake_up_new_task"), (V{"wake_up_new_task"}));
  EXPECT_EQ(target_candidates("tp_exit__read"), V{});
  EXPECT_EQ(target_candidates("iter__zombies"), V{});
}

TEST(AttachTargets, EachFamilyKeepsItsOwnPrograms) {
  using V = std::vector<std::string>;
  EXPECT_EQ(variant_prefixes(Attach::kFentry, Mode::kReturn),
            (V{"fexit__", "fentry_fn__", "iter__"}));
  EXPECT_EQ(variant_prefixes(Attach::kKprobe, Mode::kEntry),
            (V{"kprobe__", "kprobe_fn__", "iter__"}));
  EXPECT_EQ(variant_prefixes(Attach::kTracepoint, Mode::kReturn),
            (V{"tp_exit__", "tpbtf__", "iter__"}));
}

TEST(AttachTargets, AutoSaysWhyItDidNotTakeTheOthers) {
  EXPECT_EQ(auto_choice_note("fentry", {}), "");
  EXPECT_EQ(
      auto_choice_note("tracepoint", {"fentry: load BPF programs: Operation not permitted"}),
      " (auto; refused fentry: load BPF programs: Operation not permitted; not tried: kprobe, "
      "ranked after tracepoint)");
  EXPECT_EQ(auto_choice_note("kprobe", {"fentry: a", "tracepoint: b"}),
            " (auto; refused fentry: a; tracepoint: b)");
}

// Opens and closes /dev/null n times; the fd module's deltas must be exactly n.
void expect_counts_opens(Probe& p, int n) {
  p.collector->sample();
  double opens = *p.value("kscope_fd_open_calls_total");
  double closes = *p.value("kscope_fd_close_calls_total");
  for (int i = 0; i < n; i++) close(open("/dev/null", O_RDONLY));
  p.collector->sample();
  EXPECT_EQ(p.delta("kscope_fd_open_calls_total", opens), n) << p.family();
  EXPECT_EQ(p.delta("kscope_fd_close_calls_total", closes), n) << p.family();
}

class AutoAttach : public ::testing::TestWithParam<const char*> {};

TEST_P(AutoAttach, TakesTheFirstFamilyThatWorksAndSaysWhyTheOthersDidNot) {
  KSCOPE_REQUIRE_BPF();
  const std::string module = GetParam();
  Probe p(module, Mode::kReturn, Attach::kAuto);
  const auto& order = auto_order();
  size_t chosen = 0;
  while (chosen < order.size() && p.family() != attach_name(order[chosen])) chosen++;
  ASSERT_LT(chosen, order.size()) << p.family();
  const auto& refused = p.collector->attachment().refused;
  ASSERT_EQ(refused.size(), chosen);
  for (size_t i = 0; i < chosen; i++) {
    std::string family = attach_name(order[i]);
    EXPECT_TRUE(refused[i].starts_with(family + ": ")) << refused[i];
    // The explicit choice of a refused family fails, naming module and hook.
    try {
      Probe explicit_probe(module, Mode::kReturn, order[i]);
      ADD_FAILURE() << family << " attached explicitly but auto refused it: " << refused[i];
    } catch (const Error& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(module + ": attach " + family + ": "))
          << e.what();
    }
  }
  std::cout << module << ": auto took " << p.family() << "\n";
}

INSTANTIATE_TEST_SUITE_P(Modules, AutoAttach, ::testing::Values("fd", "vfs", "process"));

// btf_path at a missing file: a kernel without BTF. fentry, BTF tracepoints
// and iterators refuse; fd and vfs (no CO-RE) still load and count.
TEST(NoBtf, FdRunsWithoutBtfAndProcessRefusesWithTheReason) {
  KSCOPE_REQUIRE_BPF();
  const std::string missing = "/nonexistent/kscope/vmlinux";
  Probe fd("fd", Mode::kReturn, Attach::kAuto, missing);
  EXPECT_NE(fd.family(), "fentry");
  const auto& refused = fd.collector->attachment().refused;
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(refused[0], "fentry: needs kernel BTF, which " + missing +
                            " should hold: No such file or directory (a kernel built with "
                            "CONFIG_DEBUG_INFO_BTF=y)");
  expect_counts_opens(fd, 40);

  try {
    Probe process("process", Mode::kReturn, Attach::kAuto, missing);
    ADD_FAILURE() << "process attached without BTF via " << process.family();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_TRUE(msg.starts_with("process: no attach family works: fentry: needs kernel BTF"))
        << msg;
    EXPECT_NE(msg.find("tracepoint: needs kernel BTF"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  try {
    Probe explicit_fentry("fd", Mode::kReturn, Attach::kFentry, missing);
    ADD_FAILURE() << "fentry attached without BTF";
  } catch (const Error& e) {
    EXPECT_TRUE(
        std::string(e.what()).starts_with("fd: attach fentry: needs kernel BTF, which " + missing))
        << e.what();
  }
}

// A BTF that lacks the kernel's functions (the fd object's own BTF): the
// fentry variant is refused naming the function, auto falls back, and the
// counts stay exact.
TEST(MissingFunction, FentryIsRefusedAndAutoFallsBack) {
  KSCOPE_REQUIRE_BPF();
  const std::string btf = std::string(KSCOPE_SKEL_DIR) + "/fd.bpf.o";
  Probe fd("fd", Mode::kReturn, Attach::kAuto, btf);
  const auto& refused = fd.collector->attachment().refused;
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(refused[0],
            "fentry: fexit__open: no kernel function in BTF (tried __x64_sys_open, "
            "__do_sys_open): No such file or directory");
  expect_counts_opens(fd, 40);
}

}  // namespace
}  // namespace kscope
