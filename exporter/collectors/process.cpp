#include "collectors/process.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>

#include "cgroup/attribution.h"

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
  attachment_ = load_and_attach(
      skel_, SkeletonOps<process_bpf>{process_bpf__open_opts, process_bpf__load}, "process", ctx_);
  zombie_iter_ = attachment_.links.at("iter__zombies").get();
  stats_.emplace("process", skel_->obj, PROCESS_STAT_MAX, ctx_, kCounters,
                 std::span<const HistogramSpec>{});
  zombies_ = &prometheus::BuildGauge()
                  .Name("kscope_process_zombies")
                  .Help(
                      "Processes that have exited and are not yet reaped by their parent, "
                      "counted exactly at each sample by a BPF task iterator.")
                  .Register(ctx_.registry);
  if (ctx_.attribution) {
    ctx_.attribution->on_remove([this](const std::string& label) {
      if (auto it = zombie_series_.find(label); it != zombie_series_.end()) {
        zombies_->Remove(it->second);
        zombie_series_.erase(it);
      }
    });
  } else {
    zombie_series_[""] = &zombies_->Add({});
  }
}

std::vector<process_zombie> ProcessCollector::list_zombies() {
  Fd iter(bpf_iter_create(bpf_link__fd(zombie_iter_)));
  if (iter.get() < 0) throw Error("process: create zombie task iterator", errno);
  std::string bytes;
  char buf[4096];
  for (;;) {
    ssize_t n = read(iter.get(), buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("process: read zombie task iterator", errno);
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  std::vector<process_zombie> zombies(bytes.size() / sizeof(process_zombie));
  if (!zombies.empty())  // memcpy from or to null is undefined, even for 0 bytes
    std::memcpy(zombies.data(), bytes.data(), zombies.size() * sizeof(process_zombie));
  return zombies;
}

void ProcessCollector::sample() {
  stats_->sample();
  std::map<std::string, double> counts;
  for (const auto& z : list_zombies())
    counts[ctx_.attribution ? ctx_.attribution->label(z.cgroup_id) : ""]++;
  // The family is always there (cgroup="other" at least); a cgroup gets a
  // series once it has had a zombie, and keeps it (at 0) until it goes.
  if (ctx_.attribution) counts.try_emplace(CgroupAttribution::kOther, 0);
  for (auto& [label, gauge] : zombie_series_) gauge->Set(counts[label]);  // 0 when none left
  for (const auto& [label, n] : counts) {
    auto [it, added] = zombie_series_.try_emplace(label, nullptr);
    if (added) {
      it->second = &zombies_->Add(ctx_.attribution ? prometheus::Labels{{"cgroup", label}}
                                                   : prometheus::Labels{});
    }
    it->second->Set(n);
  }
}

}  // namespace kscope

KSCOPE_REGISTER(process, kscope::ProcessCollector);
