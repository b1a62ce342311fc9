// For tests that run the real kscope binary: start it, find its port,
// scrape it over loopback, read the exposition text.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cgroup/metadata.h"

namespace kscope::test {

struct HttpResponse {
  int status = 0;
  std::string headers, body;
};

// A TCP connection to 127.0.0.1:port whose reads give up after
// timeout_s; -1 when refused.
inline int connect_loopback(int port, int timeout_s = 10) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One HTTP/1.0 GET to 127.0.0.1:port; status 0 when nothing answered.
inline HttpResponse http_get(int port, const std::string& path, const std::string& method = "GET",
                             const std::string& extra_headers = "") {
  HttpResponse r;
  int fd = connect_loopback(port);
  if (fd < 0) return r;
  std::string req =
      method + " " + path + " HTTP/1.0\r\nHost: localhost\r\n" + extra_headers + "\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return r;
  }
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) all.append(buf, n);
  close(fd);
  auto end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, end);
  r.body = all.substr(end + 4);
  return r;
}

// A loopback port free at the time of asking, for servers that need one
// given (Prometheus); kscope itself takes port 0 and logs the one it got.
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Exposition text -> {"name{labels}": value}; comments skipped.
inline std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return m;
}

// Sum of every series of `name` (over all label values: the node's total
// when series are per cgroup); with `le`, only that histogram bucket.
inline double total(const std::map<std::string, double>& m, const std::string& name,
                    const std::string& le = "") {
  double sum = 0;
  for (const auto& [key, v] : m) {
    if (key != name && !key.starts_with(name + "{")) continue;
    if (!le.empty() && key.find("le=\"" + le + "\"") == std::string::npos) continue;
    sum += v;
  }
  return sum;
}

// Waits until kscope has sampled at least `n` more times than `since`.
inline std::map<std::string, double> scrape_after_samples(int port, double since, int n) {
  for (int i = 0; i < 500; i++) {
    auto m = parse_metrics(http_get(port, "/metrics").body);
    if (m["kscope_samples_total"] >= since + n) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "kscope did not sample";
  return {};
}

inline std::optional<std::string> cgroup2_mount() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  return find_cgroup2_mount(std::string((std::istreambuf_iterator<char>(mountinfo)), {}));
}

// A cgroup of the test's own under the mount, removed when the test ends.
struct TestCgroup {
  TestCgroup(const std::string& mount, const std::string& relative)
      : path(relative), dir(mount + relative) {
    EXPECT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
  }
  ~TestCgroup() { rmdir(dir.c_str()); }
  std::string path, dir;  // relative to the mount; absolute
};

inline bool has_series(const std::map<std::string, double>& m, const std::string& name) {
  for (const auto& [key, v] : m)
    if (key == name || key.starts_with(name + "{")) return true;
  return false;
}

// A child process whose stderr goes to a file; killed (SIGTERM) on destruction.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    char tmpl[] = "/tmp/kscope-test-log-XXXXXX";
    int log = mkstemp(tmpl);
    log_path_ = tmpl;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(log, 2);
      dup2(log, 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(log);
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    unlink(log_path_.c_str());
  }
  std::string log() const {
    std::ifstream f(log_path_);
    return {std::istreambuf_iterator<char>(f), {}};
  }
  // Exit status after SIGTERM (or of its own accord), -1 on timeout/signal.
  int stop(int sig = SIGTERM) {
    if (!exited_) kill(pid_, sig);
    return wait_exit();
  }
  // Its exit status (-1 if killed by a signal), or -1 if still running after
  // `timeout`. Looks at least once: a timeout of 0 polls.
  int wait_exit(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!exited_) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      } else if (std::chrono::steady_clock::now() >= until) {
        break;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return exited_ ? status_ : -1;
  }
  bool exited() const { return exited_; }
  // The port kscope logged ("... (port N) ..."), waiting for it to start.
  std::optional<int> port(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      std::string l = log();
      if (auto at = l.find("(port "); at != std::string::npos) return std::stoi(l.substr(at + 6));
      wait_exit(std::chrono::seconds(0));
      if (exited_) return std::nullopt;  // died before listening
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string log_path_;
};

// Runs a command to completion; returns {exit status, stdout+stderr}.
inline std::pair<int, std::string> run(const std::vector<std::string>& argv) {
  Child c(argv);
  int status = c.wait_exit();
  return {status, c.log()};
}

inline std::string write_temp(const std::string& content, const std::string& suffix = ".yaml") {
  std::string path = "/tmp/kscope-test-XXXXXX" + suffix;
  std::vector<char> p(path.begin(), path.end());
  p.push_back('\0');
  int fd = mkstemps(p.data(), static_cast<int>(suffix.size()));
  if (write(fd, content.data(), content.size()) < 0) path.clear();
  close(fd);
  return p.data();
}

}  // namespace kscope::test
