#include "top/source.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <prometheus/gauge.h>

#include "bpf/error.h"
#include "cli.h"

namespace kscope::top {
namespace {

constexpr const char* kNoTls =
    "TLS and basic auth are not supported yet (they come with --web.config.file support)";

// Closes the socket on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

HttpSource::HttpSource(const std::string& url) : url_(url) {
  const std::string scheme = "http://";
  if (url.starts_with("https://")) throw UsageError("flag --url: " + url + ": " + kNoTls);
  if (!url.starts_with(scheme))
    throw UsageError("flag --url: expected http://host:port/path, got \"" + url + "\"");
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  path_ = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  if (authority.find('@') != std::string::npos)
    throw UsageError("flag --url: " + url + ": " + kNoTls);
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority[0] == '[') {  // [::1]:9822
    size_t close = authority.find(']');
    if (close == std::string::npos) throw UsageError("flag --url: missing ']' in " + url);
    host_ = authority.substr(1, close - 1);
    port_ = close + 1 < authority.size() && authority[close + 1] == ':'
                ? authority.substr(close + 2)
                : "80";
  } else {
    host_ = authority.substr(0, colon);
    port_ = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (host_.empty() || port_.empty() || port_.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("flag --url: expected http://host:port/path, got \"" + url + "\"");
}

std::string HttpSource::get(const std::string& path) const {
  std::string what = "GET http://" + host_ + ":" + port_ + path;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  if (int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &addrs); rc != 0)
    throw Error(what + ": cannot resolve " + host_ + ": " + gai_strerror(rc));
  Fd sock;
  int err = 0;
  for (addrinfo* a = addrs; a; a = a->ai_next) {
    sock.fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (sock.fd < 0) continue;
    timeval tv{5, 0};  // a stuck kscope must not freeze the screen for long
    setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(sock.fd, a->ai_addr, a->ai_addrlen) == 0) break;
    err = errno;
    close(sock.fd);
    sock.fd = -1;
  }
  freeaddrinfo(addrs);
  if (sock.fd < 0) throw Error(what, err, "is kscope running and listening there?");
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host_ + ":" + port_ +
                    "\r\nUser-Agent: kscope-top\r\nAccept: text/plain\r\n\r\n";
  if (write(sock.fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
    throw Error(what + ": send", errno);
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = read(sock.fd, buf, sizeof(buf))) > 0) all.append(buf, n);
  if (n < 0) throw Error(what + ": receive", errno);
  size_t end = all.find("\r\n\r\n");
  if (!all.starts_with("HTTP/1.") || all.size() < 12 || end == std::string::npos)
    throw Error(what + ": not an HTTP response");
  std::string status_line = all.substr(9, all.find("\r\n") - 9);
  if (!status_line.starts_with("200")) throw Error(what + ": HTTP " + status_line);
  return all.substr(end + 4);
}

Scrape HttpSource::fetch() {
  if (!asked_status_) {  // kscope's sampling interval, for rates on its clock
    asked_status_ = true;
    try {
      std::string json = get("/api/status");
      const std::string key = "\"sample_interval_ms\":";
      if (size_t at = json.find(key); at != std::string::npos)
        interval_ = std::chrono::milliseconds(std::stoll(json.substr(at + key.size())));
    } catch (const std::exception&) {
      // Not kscope, or an older one: rates over the time between fetches.
    }
  }
  // source=ui: kscope leaves out histograms and does not count this as a
  // Prometheus scrape; other exporters ignore the parameter.
  std::string path = path_ + (path_.find('?') == std::string::npos ? "?" : "&") + "source=ui";
  std::string body = get(path);
  try {
    return parse_exposition(body);
  } catch (const Error& e) {
    throw Error("GET " + url_ + ": " + e.what());
  }
}

LocalSource::LocalSource(const Config& config)
    : config_(config), registry_(std::make_shared<prometheus::Registry>()) {
  if (config_.attribution == Attribution::kCgroup) {
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string text((std::istreambuf_iterator<char>(mountinfo)), {});
    if (auto root = find_cgroup2_mount(text))
      attribution_ = std::make_shared<CgroupAttribution>(*root, config_.max_cgroups,
                                                         config_.pods_log_dir, *registry_);
  }
  // The same probe_up family as kscope's: the view shows states uniformly.
  auto& up =
      prometheus::BuildGauge().Name("kscope_probe_up").Help("probe state").Register(*registry_);
  CollectorContext ctx{*registry_, config_, 0, attribution_.get()};
  std::string why;
  for (const auto& [name, factory] : collector_factories()) {
    if (!config_.module_enabled(name)) continue;
    auto collector = factory(ctx);
    try {
      collector->start();
      running_.emplace(name, std::move(collector));
      up.Add({{"probe", name}}).Set(1);
    } catch (const std::exception& e) {
      down_[name] = e.what();
      up.Add({{"probe", name}}).Set(0);
      why += std::string(why.empty() ? "" : "; ") + e.what();
    }
  }
  if (running_.empty()) throw Error("no probe could start: " + why);
}

LocalSource::~LocalSource() = default;

Scrape LocalSource::fetch() {
  if (attribution_) attribution_->begin_pass();
  for (auto& [name, collector] : running_) {
    try {
      collector->sample();
      down_.erase(name);
    } catch (const std::exception& e) {
      down_[name] = std::string("sample: ") + e.what();
    }
  }
  if (attribution_) {
    attribution_->end_pass();
    attribution_->Collect();  // a "scrape": lets removed cgroups' series go
  }
  return from_families(registry_->Collect());
}

}  // namespace kscope::top
