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
  attachment_ = load_and_attach(
      skel_, SkeletonOps<fd_bpf>{fd_bpf__open_opts, fd_bpf__load, fd_bpf__elf_bytes}, "fd", ctx_);
  stats_.emplace("fd", skel_->obj, FD_STAT_MAX, ctx_, kCounters, std::span<const HistogramSpec>{});
}

void FdCollector::sample() { stats_->sample(); }

}  // namespace kscope

KSCOPE_REGISTER(fd, kscope::FdCollector);
