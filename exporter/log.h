// Leveled logging to stderr, logfmt-like: "level=warn msg=...". Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kscope {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

std::optional<LogLevel> parse_log_level(std::string_view s);
void set_log_level(LogLevel level);
void log(LogLevel level, std::string_view msg);

inline void log_debug(std::string_view m) { log(LogLevel::kDebug, m); }
inline void log_info(std::string_view m) { log(LogLevel::kInfo, m); }
inline void log_warn(std::string_view m) { log(LogLevel::kWarn, m); }
inline void log_error(std::string_view m) { log(LogLevel::kError, m); }

// Routes libbpf's own messages through log() (debug for libbpf debug/info).
void route_libbpf_log();

}  // namespace kscope
