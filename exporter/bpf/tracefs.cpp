#include "bpf/tracefs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "bpf/error.h"
#include "log.h"

namespace kscope {
namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";

// With the effective ids and capabilities, as libbpf's open() will be:
// plain access() uses the real uid and, for a non-root user, ignores
// CAP_DAC_READ_SEARCH, so tracefs (mode 0700) would look absent.
bool exists(const char* path) { return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0; }

bool has_syscall_events() {
  // libbpf looks in debugfs first, then tracefs: either will do.
  return exists("/sys/kernel/tracing/events/syscalls") ||
         exists("/sys/kernel/debug/tracing/events/syscalls");
}

bool tracefs_mounted() {
  return exists("/sys/kernel/tracing/events") || exists("/sys/kernel/debug/tracing/events");
}

}  // namespace

void ensure_tracefs() {
  static std::mutex mu;
  static bool done = false;
  std::lock_guard lock(mu);
  if (done) return;
  if (!tracefs_mounted()) {
    if (mount("nodev", kTracefs, "tracefs", 0, nullptr) != 0) {
      throw Error(std::string("tracefs is not mounted and mounting it at ") + kTracefs + " failed",
                  errno,
                  std::string("syscall tracepoints need it: run `mount -t tracefs nodev ") +
                      kTracefs + "` or mount the host's into the container");
    }
    log_info(std::string("mounted tracefs at ") + kTracefs + ": syscall tracepoints need it");
  }
  if (!has_syscall_events())
    throw Error(
        "tracefs has no events/syscalls: this kernel was built without "
        "CONFIG_FTRACE_SYSCALLS, so syscall tracepoints cannot be used");
  done = true;
}

}  // namespace kscope
