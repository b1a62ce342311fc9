#include "collectors/vfs.h"

#include <array>
#include <span>

#include "collectors/probe.h"

namespace kscope {
namespace {

constexpr size_t kStatsWords = sizeof(vfs_stats) / sizeof(uint64_t);
static_assert(kStatsWords == VFS_STAT_MAX + 2 * VFS_SIZE_SLOTS);

constexpr std::array<CounterSpec, 10> kCounters{{
    {VFS_STAT_READ_CALLS, "kscope_vfs_read_calls_total",
     "Calls of read, readv, pread64, preadv and preadv2.", false},
    {VFS_STAT_READ_ERRORS, "kscope_vfs_read_errors_total",
     "Calls of read, readv, pread64, preadv and preadv2 that returned an error.", true},
    {VFS_STAT_READ_BYTES, "kscope_vfs_read_bytes_total",
     "Bytes returned by read, readv, pread64, preadv and preadv2.", true},
    {VFS_STAT_WRITE_CALLS, "kscope_vfs_write_calls_total",
     "Calls of write, writev, pwrite64, pwritev and pwritev2.", false},
    {VFS_STAT_WRITE_ERRORS, "kscope_vfs_write_errors_total",
     "Calls of write, writev, pwrite64, pwritev and pwritev2 that returned an error.", true},
    {VFS_STAT_WRITE_BYTES, "kscope_vfs_write_bytes_total",
     "Bytes written by write, writev, pwrite64, pwritev and pwritev2.", true},
    {VFS_STAT_UNLINK_CALLS, "kscope_vfs_unlink_calls_total", "Calls of unlink, unlinkat and rmdir.",
     false},
    {VFS_STAT_UNLINK_ERRORS, "kscope_vfs_unlink_errors_total",
     "Calls of unlink, unlinkat and rmdir that returned an error.", true},
    {VFS_STAT_FSYNC_CALLS, "kscope_vfs_fsync_calls_total",
     "Calls of fsync, fdatasync and sync_file_range.", false},
    {VFS_STAT_FSYNC_ERRORS, "kscope_vfs_fsync_errors_total",
     "Calls of fsync, fdatasync and sync_file_range that returned an error.", true},
}};

constexpr std::array<HistogramSpec, 2> kHistograms{{
    {"kscope_vfs_read_size_bytes",
     "Size of each successful read, readv, pread64, preadv and preadv2 (power-of-two buckets "
     "counted in the kernel).",
     offsetof(vfs_stats, read_size) / sizeof(uint64_t), VFS_SIZE_SLOTS, VFS_STAT_READ_BYTES},
    {"kscope_vfs_write_size_bytes",
     "Size of each successful write, writev, pwrite64, pwritev and pwritev2 (power-of-two "
     "buckets counted in the kernel).",
     offsetof(vfs_stats, write_size) / sizeof(uint64_t), VFS_SIZE_SLOTS, VFS_STAT_WRITE_BYTES},
}};

}  // namespace

void VfsCollector::start() {
  attachment_ = load_and_attach(
      skel_, SkeletonOps<vfs_bpf>{vfs_bpf__open_opts, vfs_bpf__load, vfs_bpf__elf_bytes}, "vfs",
      ctx_);
  stats_.emplace("vfs", skel_->obj, kStatsWords, ctx_, kCounters, kHistograms);
}

void VfsCollector::sample() { stats_->sample(); }

}  // namespace kscope

KSCOPE_REGISTER(vfs, kscope::VfsCollector);
