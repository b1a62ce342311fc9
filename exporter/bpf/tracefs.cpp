#include "bpf/tracefs.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "bpf/error.h"
#include "log.h"

namespace kscope {
namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";

bool has_syscall_events() {
  // libbpf looks in debugfs first, then tracefs: either will do.
  return access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 ||
         access("/sys/kernel/debug/tracing/events/syscalls", F_OK) == 0;
}

bool tracefs_mounted() {
  return access("/sys/kernel/tracing/events", F_OK) == 0 ||
         access("/sys/kernel/debug/tracing/events", F_OK) == 0;
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
