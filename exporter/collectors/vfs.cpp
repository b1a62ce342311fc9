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

}  // namespace

void VfsCollector::start() {
  skel_.reset(open_skeleton(vfs_bpf__open, "vfs"));
  attachment_ =
      load_and_attach(skel_.get(), "vfs", ctx_.config.mode, ctx_.target_tgid, vfs_bpf__load);
  counters_.emplace(ctx_.registry, kCounters, ctx_.config.mode);
  if (ctx_.config.mode == Mode::kReturn) {
    read_sizes_.emplace(ctx_.registry, "kscope_vfs_read_size_bytes",
                        "Size of each successful read, readv, pread64, preadv and preadv2 "
                        "(power-of-two buckets counted in the kernel).",
                        VFS_SIZE_SLOTS);
    write_sizes_.emplace(ctx_.registry, "kscope_vfs_write_size_bytes",
                         "Size of each successful write, writev, pwrite64, pwritev and pwritev2 "
                         "(power-of-two buckets counted in the kernel).",
                         VFS_SIZE_SLOTS);
  }
}

void VfsCollector::sample() {
  auto words = read_percpu_u64s(bpf_map__fd(skel_->maps.vfs_stats_map), 0, kStatsWords);
  std::span<const uint64_t> all(words);
  counters_->update(all.first(VFS_STAT_MAX));
  if (read_sizes_) {
    read_sizes_->update(all.subspan(offsetof(vfs_stats, read_size) / 8, VFS_SIZE_SLOTS),
                        all[VFS_STAT_READ_BYTES]);
    write_sizes_->update(all.subspan(offsetof(vfs_stats, write_size) / 8, VFS_SIZE_SLOTS),
                         all[VFS_STAT_WRITE_BYTES]);
  }
}

}  // namespace kscope

KSCOPE_REGISTER(vfs, kscope::VfsCollector);
