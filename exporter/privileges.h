// What kscope needs from the kernel's permission checks, checked once at
// start-up so that a missing capability is one line naming it, not three
// probes failing with EPERM. Root is not needed: the capabilities are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kscope {

// What the configuration asks of the kernel.
struct PrivilegeNeeds {
  bool bpf = true;  // a probe module is enabled: load programs, create maps
  // Syscall tracepoints may be attached: attach: tracepoint, or auto, which
  // falls back to them where fentry and kprobes fail.
  bool tracefs = true;
  bool bpf_stats = false;  // bpf_stats: true (BPF_ENABLE_STATS)
};

// Whether syscall tracepoints can be looked up, with the process's
// effective ids and capabilities.
enum class Tracefs {
  kReadable,    // mounted and searchable
  kUnreadable,  // mounted, root's alone (mode 0700), and we may not search it
  kUnmounted,   // nothing at /sys/kernel/tracing (nor /sys/kernel/debug/tracing)
};

// Bit n set: capability n (capability(7) numbers) is in the effective set.
uint64_t effective_capabilities();
Tracefs tracefs_state();

// Each capability that is missing, as "CAP_X (why)"; an unmounted tracefs
// without CAP_SYS_ADMIN to mount it is reported as what to do instead.
// Empty when everything needed is there.
std::vector<std::string> missing_privileges(const PrivilegeNeeds& needs, uint64_t effective,
                                            Tracefs tracefs);

// The one line kscope exits with, or nullopt when nothing is missing.
std::optional<std::string> privilege_problem(const PrivilegeNeeds& needs, uint64_t effective,
                                             Tracefs tracefs);

// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, and libbpf raises
// the limit to infinity, which needs CAP_SYS_RESOURCE unless the hard
// limit is infinite already. A warning (what to grant), or nullopt.
std::optional<std::string> memlock_warning(const std::string& kernel_release, uint64_t effective,
                                           bool memlock_hard_unlimited);

// The live check: throws std::runtime_error with privilege_problem()'s
// line; logs memlock_warning().
void check_privileges(const PrivilegeNeeds& needs);

}  // namespace kscope
