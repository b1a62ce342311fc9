// vfs probe, real BPF: known reads, writes, unlinks and fsyncs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmath>
#include <vector>

#include "bpf_test_util.h"

namespace kscope {
namespace {

using test::Probe;

// Cumulative count of the bucket whose upper bound is `le`.
double bucket(const prometheus::ClientMetric::Histogram* h, double le) {
  for (const auto& b : h->bucket)
    if (b.upper_bound == le) return static_cast<double>(b.cumulative_count);
  ADD_FAILURE() << "no bucket le=" << le;
  return -1;
}

TEST(VfsProbe, CountsReadsWritesBytesAndSizes) {
  KSCOPE_REQUIRE_BPF();
  Probe p("vfs", Mode::kReturn);
  p.collector->sample();
  auto base = [&](const char* n) { return *p.value(n); };
  double reads = base("kscope_vfs_read_calls_total"),
         read_errors = base("kscope_vfs_read_errors_total"),
         read_bytes = base("kscope_vfs_read_bytes_total"),
         writes = base("kscope_vfs_write_calls_total"),
         write_errors = base("kscope_vfs_write_errors_total"),
         write_bytes = base("kscope_vfs_write_bytes_total");
  double le2k = bucket(p.histogram("kscope_vfs_read_size_bytes"), 2048);
  double le4k = bucket(p.histogram("kscope_vfs_read_size_bytes"), 4096);
  double wle1 = bucket(p.histogram("kscope_vfs_write_size_bytes"), 1);

  constexpr int kReads = 200, kSize = 3000, kBadReads = 4, kWrites = 30, kBadWrites = 2;
  std::vector<char> buf(kSize);
  int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
  ASSERT_GE(zero, 0);
  ASSERT_GE(null, 0);
  for (int i = 0; i < kReads; i++) {
    iovec iov{buf.data(), buf.size()};
    ssize_t n;
    switch (i % 5) {  // every read syscall the module hooks
      case 0:
        n = read(zero, buf.data(), kSize);
        break;
      case 1:
        n = readv(zero, &iov, 1);
        break;
      case 2:
        n = pread(zero, buf.data(), kSize, 0);
        break;
      case 3:
        n = preadv(zero, &iov, 1, 0);
        break;
      default:
        n = preadv2(zero, &iov, 1, 0, 0);
    }
    ASSERT_EQ(n, kSize) << "read variant " << i % 5;
  }
  for (int i = 0; i < kBadReads; i++) ASSERT_LT(read(-1, buf.data(), 1), 0);
  for (int i = 0; i < kWrites; i++) {
    iovec iov{buf.data(), 1};
    ssize_t n;
    switch (i % 5) {
      case 0:
        n = write(null, buf.data(), 1);
        break;
      case 1:
        n = writev(null, &iov, 1);
        break;
      case 2:
        n = pwrite(null, buf.data(), 1, 0);
        break;
      case 3:
        n = pwritev(null, &iov, 1, 0);
        break;
      default:
        n = pwritev2(null, &iov, 1, 0, 0);
    }
    ASSERT_EQ(n, 1) << "write variant " << i % 5;
  }
  for (int i = 0; i < kBadWrites; i++) ASSERT_LT(write(zero, buf.data(), 1), 0);  // read-only fd
  close(zero);
  close(null);
  p.collector->sample();

  EXPECT_EQ(p.delta("kscope_vfs_read_calls_total", reads), kReads + kBadReads);
  EXPECT_EQ(p.delta("kscope_vfs_read_errors_total", read_errors), kBadReads);
  EXPECT_EQ(p.delta("kscope_vfs_read_bytes_total", read_bytes), double(kReads) * kSize);
  EXPECT_EQ(p.delta("kscope_vfs_write_calls_total", writes), kWrites + kBadWrites);
  EXPECT_EQ(p.delta("kscope_vfs_write_errors_total", write_errors), kBadWrites);
  EXPECT_EQ(p.delta("kscope_vfs_write_bytes_total", write_bytes), kWrites);
  // 3000 bytes: above 2048, at most 4096, so le="4096" and not le="2048".
  const auto* h = p.histogram("kscope_vfs_read_size_bytes");
  EXPECT_EQ(bucket(h, 2048) - le2k, 0);
  EXPECT_EQ(bucket(h, 4096) - le4k, kReads);
  EXPECT_EQ(bucket(p.histogram("kscope_vfs_write_size_bytes"), 1) - wle1, kWrites);
}

TEST(VfsProbe, CountsUnlinksAndFsyncs) {
  KSCOPE_REQUIRE_BPF();
  Probe p("vfs", Mode::kReturn);
  p.collector->sample();
  double unlinks = *p.value("kscope_vfs_unlink_calls_total");
  double unlink_errors = *p.value("kscope_vfs_unlink_errors_total");
  double fsyncs = *p.value("kscope_vfs_fsync_calls_total");

  char dir[] = "/tmp/kscope-vfs-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  constexpr int kFiles = 12;
  for (int i = 0; i < kFiles; i++) {
    std::string f = std::string(dir) + "/f" + std::to_string(i);
    int fd = open(f.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(i % 3 == 0   ? fsync(fd)
              : i % 3 == 1 ? fdatasync(fd)
                           : sync_file_range(fd, 0, 0, 0),
              0);
    close(fd);
    ASSERT_EQ(
        i % 2 ? syscall(SYS_unlink, f.c_str()) : syscall(SYS_unlinkat, AT_FDCWD, f.c_str(), 0), 0);
  }
  ASSERT_LT(unlink("/nonexistent/kscope"), 0);
  ASSERT_EQ(syscall(SYS_rmdir, dir), 0);
  p.collector->sample();

  EXPECT_EQ(p.delta("kscope_vfs_unlink_calls_total", unlinks), kFiles + 2);
  EXPECT_EQ(p.delta("kscope_vfs_unlink_errors_total", unlink_errors), 1);
  EXPECT_EQ(p.delta("kscope_vfs_fsync_calls_total", fsyncs), kFiles);
}

TEST(VfsProbe, EntryModeHasCallsOnly) {
  KSCOPE_REQUIRE_BPF();
  Probe p("vfs", Mode::kEntry);
  p.collector->sample();
  double reads = *p.value("kscope_vfs_read_calls_total");
  char c;
  int zero = open("/dev/zero", O_RDONLY);
  for (int i = 0; i < 40; i++) ASSERT_EQ(read(zero, &c, 1), 1);
  close(zero);
  p.collector->sample();
  EXPECT_EQ(p.delta("kscope_vfs_read_calls_total", reads), 40);
  for (const char* absent : {"kscope_vfs_read_errors_total", "kscope_vfs_read_bytes_total",
                             "kscope_vfs_write_bytes_total", "kscope_vfs_unlink_errors_total"})
    EXPECT_FALSE(p.value(absent).has_value()) << absent;
  EXPECT_EQ(p.histogram("kscope_vfs_read_size_bytes"), nullptr);
}

}  // namespace
}  // namespace kscope
