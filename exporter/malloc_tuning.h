// glibc's per-thread cache (tcache) off for kscope's whole life. Each of the
// 512 web workers that has served a scrape keeps freed chunks in its own
// tcache, which neither free() nor malloc_trim() gives back: about 12 KiB a
// worker, 6 MiB in all. The setting is read only when the program starts
// (GLIBC_TUNABLES), so kscope starts itself once more with it.
#pragma once

#include <optional>
#include <string>

namespace kscope {

// The GLIBC_TUNABLES value that turns the tcache off, given the current one
// (null: unset), or nullopt when it already names a tcache_count (the
// user's choice, or this is the second start).
std::optional<std::string> tunables_with_tcache_off(const char* current);

// Re-executes /proc/self/exe with argv and the tcache off, unless it is off
// already or glibc ignores GLIBC_TUNABLES here (secure execution, as under
// file capabilities). Returns only when it did not re-execute.
void restart_with_tcache_off(char** argv);

}  // namespace kscope
