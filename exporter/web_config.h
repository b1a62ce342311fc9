// --web.config.file in the Prometheus exporter-toolkit format: TLS
// (tls_server_config) and basic auth (basic_auth_users, bcrypt hashes).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace kscope {

struct WebConfig {
  std::string cert_file, key_file;           // both or neither; absolute
  std::map<std::string, std::string> users;  // name -> bcrypt hash
  bool tls() const { return !cert_file.empty(); }
};

// Throws ConfigError: "<path>:<line>: <key>: <problem>".
WebConfig load_web_config(const std::string& path);

// Checks a user and password against bcrypt hashes. bcrypt is slow on
// purpose (tens of ms), so a pair that passed once is remembered by its
// SHA-256 and later checks are cheap. Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}
  bool enabled() const { return !users_.empty(); }
  bool check(const std::string& user, const std::string& password);
  // The value of an Authorization header; false when absent or malformed.
  bool check_header(const char* authorization);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::set<std::string> passed_;  // SHA-256 of user:password that matched
};

}  // namespace kscope
