// fd probe, real BPF: known opens and closes give exactly those counts.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf_test_util.h"

namespace kscope {
namespace {

using test::Probe;

TEST(FdProbe, CountsOpensClosesAndTheirErrors) {
  KSCOPE_REQUIRE_BPF();
  Probe p("fd", Mode::kReturn);
  p.collector->sample();
  double opens = *p.value("kscope_fd_open_calls_total");
  double open_errors = *p.value("kscope_fd_open_errors_total");
  double closes = *p.value("kscope_fd_close_calls_total");
  double close_errors = *p.value("kscope_fd_close_errors_total");

  constexpr int kOpens = 100, kFailingOpens = 7, kBadCloses = 5;
  char tmpl[] = "/tmp/kscope-fd-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string file = std::string(tmpl) + "/f";
  for (int i = 0; i < kOpens; i++) {
    int fd;
    switch (i % 4) {  // every syscall the module hooks
      case 0:
        fd = static_cast<int>(syscall(SYS_open, "/dev/null", O_RDONLY));
        break;
      case 1:
        fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY));
        break;
      case 2:
        fd = static_cast<int>(syscall(SYS_creat, file.c_str(), 0600));
        break;
      default: {
        open_how how{};
        how.flags = O_RDONLY;
        fd = static_cast<int>(syscall(SYS_openat2, AT_FDCWD, "/dev/null", &how, sizeof(how)));
      }
    }
    ASSERT_GE(fd, 0) << "open variant " << i % 4;
    ASSERT_EQ(syscall(SYS_close, fd), 0);
  }
  for (int i = 0; i < kFailingOpens; i++)
    ASSERT_LT(syscall(SYS_openat, AT_FDCWD, "/nonexistent/kscope", O_RDONLY), 0);
  for (int i = 0; i < kBadCloses; i++) ASSERT_LT(syscall(SYS_close, 1 << 20), 0);
  // close_range on an empty range succeeds: one more close call.
  ASSERT_EQ(syscall(SYS_close_range, 1 << 20, (1 << 20) + 1, 0), 0);
  unlink(file.c_str());
  rmdir(tmpl);
  p.collector->sample();

  EXPECT_EQ(p.delta("kscope_fd_open_calls_total", opens), kOpens + kFailingOpens);
  EXPECT_EQ(p.delta("kscope_fd_open_errors_total", open_errors), kFailingOpens);
  EXPECT_EQ(p.delta("kscope_fd_close_calls_total", closes), kOpens + kBadCloses + 1);
  EXPECT_EQ(p.delta("kscope_fd_close_errors_total", close_errors), kBadCloses);
}

TEST(FdProbe, EntryModeCountsCallsAndHasNoErrorMetrics) {
  KSCOPE_REQUIRE_BPF();
  Probe p("fd", Mode::kEntry);
  p.collector->sample();
  double opens = *p.value("kscope_fd_open_calls_total");
  for (int i = 0; i < 50; i++) close(open("/dev/null", O_RDONLY));
  for (int i = 0; i < 3; i++) EXPECT_LT(open("/nonexistent/kscope", O_RDONLY), 0);
  p.collector->sample();
  EXPECT_EQ(p.delta("kscope_fd_open_calls_total", opens), 53);
  EXPECT_FALSE(p.value("kscope_fd_open_errors_total").has_value());
  EXPECT_FALSE(p.value("kscope_fd_close_errors_total").has_value());
}

}  // namespace
}  // namespace kscope
