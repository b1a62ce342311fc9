#include "collectors/process.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "collectors/probe.h"

namespace kscope {
namespace {

static_assert(sizeof(process_stats) == PROCESS_STAT_MAX * sizeof(uint64_t));

constexpr std::array<CounterSpec, 5> kCounters{{
    {PROCESS_STAT_PROCESS_CREATED, "kscope_process_created_total",
     "New processes (thread groups) created by fork, vfork, clone and clone3.", false},
    {PROCESS_STAT_THREAD_CREATED, "kscope_thread_created_total",
     "New threads created in an existing process (clone with CLONE_THREAD).", false},
    {PROCESS_STAT_CREATE_ERRORS, "kscope_process_create_errors_total",
     "Calls of fork, vfork, clone and clone3 that returned an error.", true},
    {PROCESS_STAT_TASK_EXITS, "kscope_task_exits_total", "Tasks (threads) that exited.", false},
    {PROCESS_STAT_TASK_RELEASED, "kscope_task_released_total",
     "Tasks released (reaped by their parent, or autoreaped) and freed by the kernel.", false},
}};

}  // namespace

void ProcessCollector::start() {
  skel_.reset(open_skeleton(process_bpf__open, "process"));
  attachment_ = load_and_attach(skel_.get(), "process", ctx_.config.mode, ctx_.target_tgid,
                                process_bpf__load);
  zombie_iter_ = attachment_.links.at("iter__zombies").get();
  counters_.emplace(ctx_.registry, kCounters, ctx_.config.mode);
  zombies_ = &prometheus::BuildGauge()
                  .Name("kscope_process_zombies")
                  .Help(
                      "Processes that have exited and are not yet reaped by their parent, "
                      "counted exactly at each sample by a BPF task iterator.")
                  .Register(ctx_.registry)
                  .Add({});
}

uint64_t ProcessCollector::count_zombies() {
  Fd iter(bpf_iter_create(bpf_link__fd(zombie_iter_)));
  if (iter.get() < 0) throw Error("process: create zombie task iterator", errno);
  uint64_t bytes = 0;
  char buf[4096];
  for (;;) {
    ssize_t n = read(iter.get(), buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("process: read zombie task iterator", errno);
    }
    bytes += static_cast<uint64_t>(n);
  }
  return bytes / sizeof(process_zombie);
}

void ProcessCollector::sample() {
  auto totals = read_percpu_u64s(bpf_map__fd(skel_->maps.process_stats_map), 0, PROCESS_STAT_MAX);
  counters_->update(totals);
  zombies_->Set(static_cast<double>(count_zombies()));
}

}  // namespace kscope

KSCOPE_REGISTER(process, kscope::ProcessCollector);
