// Command-line flags, Prometheus-exporter style (kingpin: --flag=value or --flag value).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "log.h"

namespace kscope {

struct Flags {
  std::string listen_address = ":9822";
  std::string telemetry_path = "/metrics";
  std::string config_file;      // empty: built-in defaults
  std::string web_config_file;  // empty: plain HTTP, no auth
  LogLevel log_level = LogLevel::kInfo;
  bool show_version = false;
  bool show_help = false;
};

// Bad command line. what() is one line naming the flag and the problem.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// args excludes argv[0]. Throws UsageError.
Flags parse_flags(const std::vector<std::string>& args);
std::string usage_text(const std::string& program);

// --web.listen-address, checked: a numeric host ("localhost" becomes
// 127.0.0.1), empty for any IPv4 address.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
  bool ipv6 = false;
};
// Throws UsageError for a malformed address.
ListenAddress parse_listen_address(const std::string& listen_address);

// ":9822" -> "9822", "127.0.0.1:0" stays, "[::1]:9822" -> "[::1]:9822" (civetweb's
// listening_ports syntax). Throws UsageError for a malformed address.
std::string civetweb_listening_port(const std::string& listen_address);

}  // namespace kscope
