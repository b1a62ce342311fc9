// --web.config.file in the Prometheus exporter-toolkit format: TLS
// (tls_server_config) and basic auth (basic_auth_users, bcrypt hashes).
#pragma once

#include <sys/stat.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace kscope {

struct WebConfig {
  std::string cert_file, key_file;           // both or neither; absolute
  std::map<std::string, std::string> users;  // name -> bcrypt hash
  std::string source;                        // the file it was read from; empty: none
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

// The web config in force, re-read when its file changes, as exporter-toolkit
// re-reads it for each request: a changed password or user list applies to
// the next request without a restart. A file that became unreadable or
// invalid leaves the last good config in force and is logged once per change.
// TLS settings apply only at start: a change to them is refused the same way.
class LiveWebConfig {
 public:
  explicit LiveWebConfig(const WebConfig& initial);
  // One stat() of the file, and a re-read only when it changed. Thread-safe.
  std::shared_ptr<BasicAuth> auth();

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    timespec mtime{}, ctime{};
    bool operator==(const Identity&) const;
  };
  static Identity identity(const std::string& path);

  WebConfig in_force_;  // the last good config
  std::mutex mu_;
  Identity seen_;  // the file's identity when last read, good or not
  std::shared_ptr<BasicAuth> auth_;
};

}  // namespace kscope
