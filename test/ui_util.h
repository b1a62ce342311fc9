// For the UI tests: a headless Chromium driven over the DevTools protocol
// (--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4, no
// websocket needed), and tmux sessions to run `kscope top` in a terminal.
// Not --dump-dom --virtual-time-budget: virtual time runs the page's timers
// far ahead of kscope's real sampling, so the page would see a sample or two
// in a "5 s" budget; over the protocol the page runs in real time and the
// test reads its DOM whenever it wants.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "landing.h"

namespace kscope::test {

inline const char* kChromium = "/usr/bin/chromium";
inline const char* kTmux = "/usr/bin/tmux";

// The JSON string starting at text[at] (its opening quote), unescaped.
inline std::string json_unquote(const std::string& text, size_t at) {
  std::string out;
  auto utf8 = [&out](uint32_t c) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | c >> 6);
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | c >> 12);
      out += static_cast<char>(0x80 | (c >> 6 & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | c >> 18);
      out += static_cast<char>(0x80 | (c >> 12 & 0x3f));
      out += static_cast<char>(0x80 | (c >> 6 & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  };
  for (size_t i = at + 1; i < text.size() && text[i] != '"'; i++) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    char e = text[++i];
    if (e == 'u') {
      uint32_t c = std::stoul(text.substr(i + 1, 4), nullptr, 16);
      i += 4;
      if (c >= 0xd800 && c < 0xdc00 && text.compare(i + 1, 2, "\\u") == 0) {  // surrogate pair
        uint32_t lo = std::stoul(text.substr(i + 3, 4), nullptr, 16);
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i += 6;
      }
      utf8(c);
    } else {
      out += e == 'n'   ? '\n'
             : e == 't' ? '\t'
             : e == 'r' ? '\r'
             : e == 'b' ? '\b'
             : e == 'f' ? '\f'
                        : e;
    }
  }
  return out;
}

// The first string field `key` of a JSON message; empty when absent.
inline std::string json_field(const std::string& msg, const std::string& key) {
  auto at = msg.find("\"" + key + "\":\"");
  return at == std::string::npos ? "" : json_unquote(msg, at + key.size() + 3);
}

inline std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) continue;  // padding
    acc = acc << 6 | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  return out;
}

// One headless Chromium with one page. Fails the test (never skips) when
// Chromium is missing or does not answer.
class Chromium {
 public:
  Chromium() {
    if (access(kChromium, X_OK) != 0) {
      ADD_FAILURE() << kChromium << " not found: apt-get install chromium "
                    << "(deploy/debian-packages.txt lists it)";
      return;
    }
    char dir[] = "/tmp/kscope-chromium-XXXXXX";
    profile_ = mkdtemp(dir);
    log_ = profile_ + "/chromium.log";
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      // Out of the way of 3 and 4 first: the pipes may have those numbers.
      int in = fcntl(to[0], F_DUPFD, 10), out = fcntl(from[1], F_DUPFD, 10);
      dup2(in, 3);
      dup2(out, 4);
      int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, 1);
      dup2(log, 2);
      std::string profile = "--user-data-dir=" + profile_;
      execl(kChromium, kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe", profile.c_str(),
            nullptr);
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    in_ = to[1];
    out_ = from[0];
    std::string target =
        json_field(call("Target.createTarget", R"({"url":"about:blank"})"), "targetId");
    session_ = json_field(
        call("Target.attachToTarget", R"({"targetId":")" + target + R"(","flatten":true})"),
        "sessionId");
    if (session_.empty()) ADD_FAILURE() << "Chromium gave no page session: " << log();
  }
  ~Chromium() {
    if (pid_ > 0) {
      if (in_ >= 0) call("Browser.close", "{}", false);
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (waitpid(pid_, nullptr, WNOHANG) != pid_) {
        if (std::chrono::steady_clock::now() > until) {
          kill(pid_, SIGKILL);
          waitpid(pid_, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (in_ >= 0) close(in_);
    if (out_ >= 0) close(out_);
    if (!profile_.empty()) std::filesystem::remove_all(profile_);
  }
  bool ok() const { return !session_.empty(); }
  std::string log() const {
    std::ifstream f(log_);
    return {std::istreambuf_iterator<char>(f), {}};
  }

  // Sends one command to the page (or the browser) and returns the answer.
  std::string call(const std::string& method, const std::string& params, bool page = true) {
    if (in_ < 0) return "";
    int id = ++last_id_;
    std::string msg =
        "{\"id\":" + std::to_string(id) + ",\"method\":\"" + method + "\",\"params\":" + params +
        (page && !session_.empty() ? ",\"sessionId\":\"" + session_ + "\"" : "") + "}";
    msg.push_back('\0');
    if (write(in_, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return "";
    const std::string prefix = "{\"id\":" + std::to_string(id) + ",";
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      size_t nul;
      while ((nul = buf_.find('\0')) != std::string::npos) {
        std::string m = buf_.substr(0, nul);
        buf_.erase(0, nul + 1);
        if (m.starts_with(prefix)) {
          if (m.find("\"error\":{") != std::string::npos &&
              m.find("\"result\"") == std::string::npos)
            ADD_FAILURE() << method << " failed: " << m.substr(0, 500);
          return m;
        }
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      char chunk[65536];
      ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) break;
      buf_.append(chunk, n);
    }
    if (method != "Browser.close") ADD_FAILURE() << method << ": no answer from Chromium";
    return "";
  }

  void open(const std::string& url, int width = 1280, int height = 1600) {
    call("Emulation.setDeviceMetricsOverride", "{\"width\":" + std::to_string(width) +
                                                   ",\"height\":" + std::to_string(height) +
                                                   ",\"deviceScaleFactor\":1,\"mobile\":false}");
    call("Page.navigate", "{\"url\":" + json_string(url) + "}");
  }

  // A JavaScript expression's value, as a string.
  std::string eval(const std::string& expression) {
    std::string r =
        call("Runtime.evaluate", "{\"expression\":" + json_string("String(" + expression + ")") +
                                     ",\"returnByValue\":true}");
    return json_field(r, "value");
  }
  // An attribute of the first element matching `selector`; empty when absent.
  std::string attr(const std::string& selector, const std::string& name) {
    return eval("document.querySelector(" + json_string(selector) + ")?.getAttribute(" +
                json_string(name) + ") ?? ''");
  }

  bool screenshot(const std::string& path) {
    std::string png =
        base64_decode(json_field(call("Page.captureScreenshot", R"({"format":"png"})"), "data"));
    std::ofstream(path, std::ios::binary) << png;
    return png.starts_with("\x89PNG");
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, last_id_ = 0;
  std::string profile_, log_, session_, buf_;
};

// A tmux server of our own (-L): never touches the user's sessions.
class Tmux {
 public:
  Tmux() : socket_("kscope-ui-" + std::to_string(getpid())) {}
  ~Tmux() { tmux({"kill-server"}); }
  std::pair<int, std::string> tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {kTmux, "-L", socket_});
    return run(args);
  }
  // Runs `command` in a detached session of the given size. Its exit status
  // is written to a file for exit_status().
  bool start(const std::string& command, int width, int height) {
    status_file_ = "/tmp/" + socket_ + ".status";
    unlink(status_file_.c_str());
    auto [st, out] = tmux({"new-session", "-d", "-s", "s", "-x", std::to_string(width), "-y",
                           std::to_string(height), command + "; echo $? > " + status_file_});
    if (st != 0) ADD_FAILURE() << "tmux new-session: " << out;
    return st == 0;
  }
  std::string capture() { return tmux({"capture-pane", "-p", "-t", "s"}).second; }
  void keys(const std::string& keys) { tmux({"send-keys", "-t", "s", keys}); }
  // Exit status of the command once the session has ended; -1 on timeout.
  int exit_status(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      std::ifstream f(status_file_);
      int status = -1;
      if (f >> status && tmux({"has-session", "-t", "s"}).first != 0) {
        unlink(status_file_.c_str());
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  std::string socket_, status_file_;
};

}  // namespace kscope::test
