#include "privileges.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "log.h"

namespace kscope {
namespace {

constexpr unsigned long kTracefsMagic = 0x74726163;  // TRACEFS_MAGIC, linux/magic.h
constexpr const char* kMountCommand = "mount -t tracefs nodev /sys/kernel/tracing";

bool has(uint64_t effective, int cap) { return (effective >> cap) & 1; }

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

uint64_t effective_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return 0;
  return uint64_t{data[0].effective} | uint64_t{data[1].effective} << 32;
}

Tracefs tracefs_state() {
  // AT_EACCESS: the effective ids and capabilities, as libbpf's open() of
  // events/syscalls/*/id will have them.
  for (const char* events : {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"})
    if (faccessat(AT_FDCWD, events, X_OK, AT_EACCESS) == 0) return Tracefs::kReadable;
  // The mount point itself can be looked at without searching it.
  struct statfs fs {};
  if (statfs("/sys/kernel/tracing", &fs) == 0 &&
      static_cast<unsigned long>(fs.f_type) == kTracefsMagic)
    return Tracefs::kUnreadable;
  return Tracefs::kUnmounted;
}

std::vector<std::string> missing_privileges(const PrivilegeNeeds& needs, uint64_t effective,
                                            Tracefs tracefs) {
  std::vector<std::string> missing;
  // The kernel's bpf_capable() and perfmon_capable() accept CAP_SYS_ADMIN
  // in place of either.
  bool admin = has(effective, CAP_SYS_ADMIN);
  if (needs.bpf && !admin && !has(effective, CAP_BPF))
    missing.push_back("CAP_BPF (load BPF programs, create their maps)");
  if (needs.bpf && !admin && !has(effective, CAP_PERFMON))
    missing.push_back("CAP_PERFMON (load tracing programs, attach them to tracepoints)");
  if (needs.bpf && needs.tracefs && tracefs == Tracefs::kUnreadable)
    missing.push_back(
        "CAP_DAC_READ_SEARCH (read the syscall tracepoints' ids in /sys/kernel/tracing, "
        "which is root's alone; not needed with attach: fentry or kprobe on every module)");
  if (needs.bpf && needs.tracefs && tracefs == Tracefs::kUnmounted && !admin)
    missing.push_back(std::string("CAP_SYS_ADMIN (mount tracefs, which is not mounted; or run `") +
                      kMountCommand + "` before kscope)");
  if (needs.bpf_stats && !admin)
    missing.push_back(
        "CAP_SYS_ADMIN (bpf_stats: true turns on the kernel's BPF run-time statistics, "
        "BPF_ENABLE_STATS, which only CAP_SYS_ADMIN may do; or set bpf_stats: false)");
  return missing;
}

std::optional<std::string> privilege_problem(const PrivilegeNeeds& needs, uint64_t effective,
                                             Tracefs tracefs) {
  auto missing = missing_privileges(needs, effective, tracefs);
  if (missing.empty()) return std::nullopt;
  return std::string(missing.size() == 1 ? "missing capability " : "missing capabilities ") +
         join(missing, ", ") + ": run as root or grant " + (missing.size() == 1 ? "it" : "them") +
         " (deploy/systemd/kscope.service says which kscope needs and why)";
}

std::optional<std::string> memlock_warning(const std::string& kernel_release, uint64_t effective,
                                           bool memlock_hard_unlimited) {
  int major = 0, minor = 0;
  if (std::sscanf(kernel_release.c_str(), "%d.%d", &major, &minor) != 2) return std::nullopt;
  if (major > 5 || (major == 5 && minor >= 11)) return std::nullopt;  // memcg accounting
  if (memlock_hard_unlimited || has(effective, CAP_SYS_RESOURCE)) return std::nullopt;
  return "kernel " + kernel_release +
         " charges BPF maps to RLIMIT_MEMLOCK, whose hard limit is not unlimited, and "
         "raising it needs CAP_SYS_RESOURCE: grant it, or set the limit to unlimited "
         "(systemd: LimitMEMLOCK=infinity), or maps may fail to load with EPERM";
}

void check_privileges(const PrivilegeNeeds& needs) {
  uint64_t effective = effective_capabilities();
  if (auto problem = privilege_problem(needs, effective, tracefs_state()))
    throw std::runtime_error(*problem);
  utsname u{};
  rlimit memlock{};
  if (needs.bpf && uname(&u) == 0 && getrlimit(RLIMIT_MEMLOCK, &memlock) == 0) {
    if (auto warning = memlock_warning(u.release, effective, memlock.rlim_max == RLIM_INFINITY))
      log_warn(*warning);
  }
}

}  // namespace kscope
