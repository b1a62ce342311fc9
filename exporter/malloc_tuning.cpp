#include "malloc_tuning.h"

#include <sys/auxv.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace kscope {

namespace {
constexpr std::string_view kTcacheCount = "glibc.malloc.tcache_count";
}

std::optional<std::string> tunables_with_tcache_off(const char* current) {
  std::string_view now = current ? current : "";
  // Tunables are colon-separated name=value pairs.
  for (size_t at = 0; at <= now.size();) {
    size_t end = now.find(':', at);
    if (end == std::string_view::npos) end = now.size();
    std::string_view pair = now.substr(at, end - at);
    if (pair.substr(0, pair.find('=')) == kTcacheCount) return std::nullopt;
    at = end + 1;
  }
  std::string out(now);
  if (!out.empty()) out += ':';
  return out + std::string(kTcacheCount) + "=0";
}

void restart_with_tcache_off(char** argv) {
  if (getauxval(AT_SECURE)) return;  // glibc would drop the setting: no loop
  const char* current = getenv("GLIBC_TUNABLES");
  auto tunables = tunables_with_tcache_off(current);
  if (!tunables) return;
  std::optional<std::string> before;
  if (current) before = current;
  if (setenv("GLIBC_TUNABLES", tunables->c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Not re-executed (no /proc?): run on as started.
  if (before)
    setenv("GLIBC_TUNABLES", before->c_str(), 1);
  else
    unsetenv("GLIBC_TUNABLES");
}

}  // namespace kscope
