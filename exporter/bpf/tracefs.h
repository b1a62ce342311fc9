// Syscall tracepoints are attached by an id that libbpf reads from tracefs,
// which is not mounted on every machine.
#pragma once

namespace kscope {

// Returns at once when tracefs is there; otherwise mounts it at
// /sys/kernel/tracing (and logs that it did). Throws Error with the command
// to run when that fails. Thread-safe; does the work once.
void ensure_tracefs();

}  // namespace kscope
