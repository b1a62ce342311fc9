#include "collectors/fd.h"

#include <array>

#include "collectors/probe.h"

namespace kscope {
namespace {

// The kernel side defines __u64 for fd.h; here it is plain uint64_t.
static_assert(sizeof(fd_stats) == FD_STAT_MAX * sizeof(uint64_t));

constexpr std::array<CounterSpec, 4> kCounters{{
    {FD_STAT_OPEN_CALLS, "kscope_fd_open_calls_total",
     "Calls of open, openat, openat2, creat and open_by_handle_at.", false},
    {FD_STAT_OPEN_ERRORS, "kscope_fd_open_errors_total",
     "Calls of open, openat, openat2, creat and open_by_handle_at that returned an error.", true},
    {FD_STAT_CLOSE_CALLS, "kscope_fd_close_calls_total", "Calls of close and close_range.", false},
    {FD_STAT_CLOSE_ERRORS, "kscope_fd_close_errors_total",
     "Calls of close and close_range that returned an error.", true},
}};

}  // namespace

void FdCollector::start() {
  skel_.reset(open_skeleton(fd_bpf__open, "fd"));
  attachment_ =
      load_and_attach(skel_.get(), "fd", ctx_.config.mode, ctx_.target_tgid, fd_bpf__load);
  counters_.emplace(ctx_.registry, kCounters, ctx_.config.mode);
}

void FdCollector::sample() {
  auto totals = read_percpu_u64s(bpf_map__fd(skel_->maps.fd_stats_map), 0, FD_STAT_MAX);
  counters_->update(totals);
}

}  // namespace kscope

KSCOPE_REGISTER(fd, kscope::FdCollector);
