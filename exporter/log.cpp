#include "log.h"

#include <bpf/libbpf.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace kscope {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mu;

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  // kscope reports each failure in one line of its own; libbpf's details
  // (verifier logs, relocations) are for --log.level=debug.
  (void)level;
  LogLevel ours = LogLevel::kDebug;
  if (ours < g_level.load()) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  std::string_view msg(buf, n < 0 ? 0 : std::min<size_t>(n, sizeof(buf) - 1));
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  log(ours, msg);  // libbpf's messages start with "libbpf: " already
  return n;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return std::nullopt;
}

void set_log_level(LogLevel level) { g_level.store(level); }

void log(LogLevel level, std::string_view msg) {
  if (level < g_level.load()) return;
  std::string quoted;  // logfmt: one line, quotes and backslashes escaped
  for (char c : msg) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c == '\n' ? ' ' : c;
  }
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "level=%s msg=\"%s\"\n", level_name(level), quoted.c_str());
}

void route_libbpf_log() { libbpf_set_print(libbpf_print); }

}  // namespace kscope
