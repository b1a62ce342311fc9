// process probe, real BPF: known forks, threads, exits, releases, zombies.
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "bpf_test_util.h"

namespace kscope {
namespace {

using test::Probe;

// Releases run from an RCU callback after the reap: give them a moment.
// Polls cond every 10 ms for up to `seconds`. Releases need up to 15 s: the
// kernel frees a task_struct from an RCU callback, and with CONFIG_RCU_LAZY
// (Debian's kernels, this host's) call_rcu callbacks may wait up to 10 s.
bool eventually(const std::function<bool()>& cond, int seconds = 3) {
  for (int i = 0; i < seconds * 100; i++) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

char proc_state(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto close = s.rfind(')');
  return close == std::string::npos || close + 2 >= s.size() ? '?' : s[close + 2];
}

TEST(ProcessProbe, TellsProcessesFromThreadsAndCountsExitsAndReleases) {
  KSCOPE_REQUIRE_BPF();
  Probe p("process", Mode::kReturn);
  p.collector->sample();
  double procs = *p.value("kscope_process_created_total");
  double threads = *p.value("kscope_thread_created_total");
  double exits = *p.value("kscope_task_exits_total");
  double released = *p.value("kscope_task_released_total");

  constexpr int kForks = 20, kThreads = 15;
  for (int i = 0; i < kForks; i++) {
    // fork() is clone in glibc; the raw clone syscall is the other path.
    pid_t pid = i % 2 ? fork() : static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (pid == 0) _exit(0);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  }
  for (int i = 0; i < kThreads; i++) std::thread([] {}).join();

  p.collector->sample();
  EXPECT_EQ(p.delta("kscope_process_created_total", procs), kForks);
  EXPECT_EQ(p.delta("kscope_thread_created_total", threads), kThreads);
  // join() returns at the futex wake in the thread's exit_mm(), which comes
  // before the exit tracepoint on older kernels (5.10, 6.1).
  EXPECT_TRUE(eventually([&] {
    p.collector->sample();
    return p.delta("kscope_task_exits_total", exits) >= kForks + kThreads;
  }));
  EXPECT_EQ(p.delta("kscope_task_exits_total", exits), kForks + kThreads);
  // After a short wait, run the lazy RCU callbacks rather than wait for them.
  auto all_released = [&] {
    p.collector->sample();
    return p.delta("kscope_task_released_total", released) >= kForks + kThreads;
  };
  if (!eventually(all_released, 1)) test::flush_rcu_callbacks();
  EXPECT_TRUE(eventually(all_released, 15));
  EXPECT_EQ(p.delta("kscope_task_released_total", released), kForks + kThreads);
}

TEST(ProcessProbe, CountsFailedForks) {
  KSCOPE_REQUIRE_BPF();
  Probe p("process", Mode::kReturn);
  p.collector->sample();
  double errors = *p.value("kscope_process_create_errors_total");
  double procs = *p.value("kscope_process_created_total");
  // CLONE_THREAD without CLONE_SIGHAND is invalid: EINVAL, nothing created.
  constexpr int kBad = 6;
  for (int i = 0; i < kBad; i++) {
    errno = 0;
    if (i % 2) {
      ASSERT_EQ(syscall(SYS_clone, CLONE_THREAD, nullptr, nullptr, nullptr, 0), -1);
    } else {
      clone_args args{};
      args.flags = CLONE_THREAD;
      ASSERT_EQ(syscall(SYS_clone3, &args, sizeof(args)), -1);
    }
    ASSERT_EQ(errno, EINVAL);
  }
  p.collector->sample();
  EXPECT_EQ(p.delta("kscope_process_create_errors_total", errors), kBad);
  EXPECT_EQ(p.delta("kscope_process_created_total", procs), 0);
}

TEST(ProcessProbe, CountsZombiesExactlyAndSeesThemReaped) {
  KSCOPE_REQUIRE_BPF();
  // Zombies made before the probe starts must count too.
  constexpr int kBefore = 3, kAfter = 4;
  std::vector<pid_t> children;
  auto make_zombies = [&](int n) {
    for (int i = 0; i < n; i++) {
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      ASSERT_GT(pid, 0);
      children.push_back(pid);
    }
    for (pid_t pid : children) ASSERT_TRUE(eventually([&] { return proc_state(pid) == 'Z'; }));
  };
  make_zombies(kBefore);
  Probe p("process", Mode::kReturn);
  p.collector->sample();
  EXPECT_EQ(p.value("kscope_process_zombies"), kBefore);
  make_zombies(kAfter);
  p.collector->sample();
  EXPECT_EQ(p.value("kscope_process_zombies"), kBefore + kAfter);
  for (pid_t pid : children) ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  p.collector->sample();
  EXPECT_EQ(p.value("kscope_process_zombies"), 0);
}

TEST(ProcessProbe, EntryModeHasNoForkErrors) {
  KSCOPE_REQUIRE_BPF();
  Probe p("process", Mode::kEntry);
  p.collector->sample();
  EXPECT_FALSE(p.value("kscope_process_create_errors_total").has_value());
  EXPECT_TRUE(p.value("kscope_process_created_total").has_value());
}

}  // namespace
}  // namespace kscope
