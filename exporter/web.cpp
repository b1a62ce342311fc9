#include "web.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <optional>
#include <arpa/inet.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <string_view>
#include <thread>

#include "bpf/error.h"
#include "cli.h"
#include "log.h"
#include "tls/tls_compat.h"
#include "web_socket.h"

namespace kscope {
namespace {

// How the front holds against slow, silent and hostile clients; the
// measurements behind each figure are in BENCHMARKS.md ("The HTTP front").
// civetweb serves a connection on one worker thread at a time and blocks
// reading it, so what a slow client can take is one worker for a bounded
// time, and the defence is many workers, short bounds, and the kernel
// holding connections that have sent nothing.
//
// Workers: a slow client ties up one of them, not the server. 512 hold 300
// slowloris connections with room to spare (256 were marginal: a scrape
// waited 1.9 s). Each costs about 16 KiB of memory idle and 45 KiB once it
// has served a scrape (Debian builds civetweb with 100 KiB stacks).
constexpr const char* kWorkerThreads = "512";
// The request head must arrive within this from the worker's first read
// (with TCP_DEFER_ACCEPT its first bytes have already arrived: a real
// client's head is all there), and a response write may stall no longer.
// A slowloris or an HTTP/0.9 request is closed after it.
constexpr const char* kRequestTimeoutMs = "1000";
// Keep-alive, so that a 200 without "Connection: close" is honest (the
// exposer's response has no Connection header); an idle connection is
// closed after this.
constexpr const char* kKeepAliveTimeoutMs = "2000";
// Connections the kernel queues while every worker is busy.
constexpr const char* kListenBacklog = "1024";
// A connection that sends nothing is held by the kernel about this long
// (rounded up to its SYN-ACK retransmissions: closed after 16.5 s here)
// before a worker sees it and closes it after kRequestTimeoutMs.
constexpr int kDeferAcceptSeconds = 10;

// civetweb's callbacks carry no user pointer of ours: one server per process.
std::atomic<WebServer*> g_server{nullptr};

// Scrapes served at once: each builds the whole exposition in memory
// (3 MiB of text and about 20 MiB in all at max_cgroups 500), so with many
// workers their number needs a bound of its own, as node_exporter's
// --web.max-requests. Two keep both CPUs of a small node busy: more only
// cost memory. A scrape over it waits for a slot up to kScrapeWait (half
// Prometheus' default scrape timeout), then gets 503.
constexpr int kMaxScrapes = 2;
constexpr auto kScrapeWait = std::chrono::seconds(5);

// A counter of free slots. (Not std::counting_semaphore: libstdc++ 12's
// release() wakes a waiter only when the count was 0, so under load waiters
// slept through free slots for seconds.) Closing it refuses the waiters at
// once and waits for the holders: a stopping server must not keep a scrape
// waiting kScrapeWait for a slot that will never come.
class Slots {
 public:
  explicit Slots(int n) : n_(n), free_(n) {}
  bool acquire_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!changed_.wait_for(lock, timeout, [&] { return closed_ || free_ > 0; }) || closed_)
      return false;
    free_--;
    return true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      free_++;
    }
    // One waiter, the longest waiting (futex order): waking all of them let
    // the last comers win and a few waiters starve past kScrapeWait. A
    // closer waits too, and close_and_drain wakes all.
    changed_.notify_one();
  }
  // Refuses every waiter now and later; true once every slot is back.
  bool close_and_drain(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    closed_ = true;
    changed_.notify_all();
    return changed_.wait_until(lock, deadline, [&] { return free_ == n_; });
  }
  void reopen() {  // for a next server in this process
    std::lock_guard lock(mu_);
    closed_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  const int n_;
  int free_;
  bool closed_ = false;
};
Slots g_scrape_slots(kMaxScrapes);
// Whether this worker's request holds a slot: end_request runs on the same
// thread right after the request, the exposer's handler included.
thread_local bool t_holds_scrape_slot = false;

// Gives the kernel back the pages of this thread's stack below the current
// frame. A worker keeps the stack a request touched (about 31 KiB of its
// 100 KiB after a scrape): over 512 workers that was 16 MiB of kscope's
// 40 MiB steady RSS. Next time they fault in again, zeroed (microseconds
// against a millisecond scrape). kMargin keeps this frame and madvise's own.
void release_unused_stack() {
  constexpr uintptr_t kMargin = 4096;
  thread_local uintptr_t stack_low = [] {
    pthread_attr_t attr;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return uintptr_t{0};
    if (pthread_attr_getstack(&attr, &addr, &size) != 0) addr = nullptr;
    pthread_attr_destroy(&attr);
    return reinterpret_cast<uintptr_t>(addr);
  }();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (stack_low == 0 || frame < stack_low + kMargin) return;
  uintptr_t low = (stack_low + page - 1) & ~(page - 1);
  uintptr_t high = (frame - kMargin) & ~(page - 1);
  if (high > low) madvise(reinterpret_cast<void*>(low), high - low, MADV_DONTNEED);
}

void end_request(const mg_connection*, int) {
  release_unused_stack();
  if (!t_holds_scrape_slot) return;
  t_holds_scrape_slot = false;
  g_scrape_slots.release();
}

constexpr const char* kAssetPrefix = "/assets/";
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

// Whether this response may leave the connection open. civetweb keeps it
// open after a handler exactly when keep-alive is on and the request asks
// for it (HTTP/1.1 by default, HTTP/1.0 with "Connection: keep-alive"); we
// close it too after a refusal. The Connection header says what happens.
bool keep_alive(mg_connection* conn, int status) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const char* connection = mg_get_header(conn, "Connection");
  std::string_view c = connection ? connection : "";
  bool wanted = ri->http_version && std::strcmp(ri->http_version, "1.1") == 0
                    ? !(c.size() == 5 && strncasecmp(c.data(), "close", 5) == 0)
                    : c.size() == 10 && strncasecmp(c.data(), "keep-alive", 10) == 0;
  return wanted && status < 400 && mg_get_header(conn, "Content-Length") == nullptr &&
         mg_get_header(conn, "Transfer-Encoding") == nullptr;
}

// body: nullopt for a HEAD whose length is not known.
int reply(mg_connection* conn, int status, const char* reason, const std::string& type,
          const std::optional<std::string>& body, bool head, const char* extra_headers = "") {
  bool keep = keep_alive(conn, status);
  if (!keep) mg_disable_connection_keep_alive(conn);
  std::string length = body ? "Content-Length: " + std::to_string(body->size()) + "\r\n" : "";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s"
            "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
            "%sConnection: %s\r\n\r\n",
            status, reason, type.c_str(), length.c_str(), extra_headers,
            keep ? "keep-alive" : "close");
  if (!head && body) mg_write(conn, body->data(), body->size());
  return status;  // non-zero: handled here
}

bool has_param(const char* query, std::string_view param) {
  std::string_view q = query ? query : "";
  while (!q.empty()) {
    size_t amp = q.find('&');
    if (q.substr(0, amp) == param) return true;
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return false;
}

int begin_request(mg_connection* conn) {
  end_request(conn, 0);  // a slot left by a request that did not end (none should)
  const mg_request_info* ri = mg_get_request_info(conn);
  WebServer* server = g_server.load();
  std::string uri = ri->local_uri ? ri->local_uri : "";
  bool head = std::strcmp(ri->request_method, "HEAD") == 0;
  if (server == nullptr)
    return reply(conn, 503, "Service Unavailable", "text/plain", "starting or stopping\n", head);
  // Only reading is served, on every path, and a request has no body.
  if (!head && std::strcmp(ri->request_method, "GET") != 0)
    return reply(conn, 405, "Method Not Allowed", "text/plain", "method not allowed\n", false,
                 "Allow: GET, HEAD\r\n");
  if (ri->content_length > 0 || mg_get_header(conn, "Transfer-Encoding") != nullptr)
    return reply(conn, 400, "Bad Request", "text/plain", "a GET has no body\n", head);
  if (std::strcmp(ri->http_version, "1.1") == 0 && mg_get_header(conn, "Host") == nullptr)
    return reply(conn, 400, "Bad Request", "text/plain", "HTTP/1.1 needs a Host header\n", head);
  // Every path, the metrics too, behind the same basic auth.
  if (auto auth = server->auth();
      auth->enabled() && !auth->check_header(mg_get_header(conn, "Authorization")))
    return reply(conn, 401, "Unauthorized", "text/plain", "Unauthorized\n", head,
                 "WWW-Authenticate: Basic realm=\"kscope\"\r\n");
  bool live = uri == server->telemetry_path() && has_param(ri->query_string, "source=ui");
  if (uri == server->telemetry_path()) {
    if (!g_scrape_slots.acquire_for(kScrapeWait))
      return reply(conn, 503, "Service Unavailable", "text/plain",
                   g_server.load() == nullptr
                       ? std::string("stopping\n")
                       : "too many scrapes at once (" + std::to_string(kMaxScrapes) + ")\n",
                   head, "Retry-After: 1\r\n");
    t_holds_scrape_slot = true;
    // The exposer answers GET only. Its length is known only by collecting,
    // so a HEAD gets the head without one (RFC 9110, 9.3.2 allows it).
    if (head && !live) return reply(conn, 200, "OK", kExpositionType, std::nullopt, true);
    if (!live) return 0;  // the exposer's handler; end_request frees the slot
  }
  bool asset = uri.starts_with(kAssetPrefix);
  if (uri != "/" && uri != "/api/status" && !asset && !live)
    return reply(conn, 404, "Not Found", "text/plain", "404 page not found\n", head);
  if (live) return reply(conn, 200, "OK", kExpositionType, server->live_metrics(), head);
  if (uri == "/api/status")
    return reply(conn, 200, "OK", "application/json", status_json(server->status()), head);
  if (asset) {
    std::string name = uri.substr(std::strlen(kAssetPrefix));
    auto file = find_web_asset(name);
    if (!file || name == "index.html")  // index.html is a template: "/" fills it
      return reply(conn, 404, "Not Found", "text/plain", "404 page not found\n", head);
    return reply(conn, 200, "OK", content_type(name), std::string(file->body), head);
  }
  return reply(conn, 200, "OK", "text/html; charset=utf-8", landing_page(server->status()), head);
}

}  // namespace

namespace {

// civetweb wants the certificate and the key in one PEM file: join them in
// a memory file, never on disk, and name it by /proc/self/fd.
Fd joined_pem(const WebConfig& wc) {
  Fd fd(memfd_create("kscope-tls", MFD_CLOEXEC));
  if (fd.get() < 0) throw Error("web config: create a memory file for the certificate", errno);
  for (const auto& path : {wc.cert_file, wc.key_file}) {
    std::ifstream in(path);
    std::string pem((std::istreambuf_iterator<char>(in)), {});
    if (!in.good() && !in.eof()) throw Error("web config: read " + path, errno);
    if (!pem.ends_with("\n")) pem += "\n";
    if (write(fd.get(), pem.data(), pem.size()) != static_cast<ssize_t>(pem.size()))
      throw Error("web config: write the certificate to a memory file", errno);
  }
  return fd;
}

}  // namespace

void check_can_listen(const std::string& listen_address) {
  ListenAddress where = parse_listen_address(listen_address);
  if (where.port == 0) return;  // any free port
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (where.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(where.port);
    inet_pton(AF_INET6, where.host.c_str(), &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(where.port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);  // civetweb's "port" alone
    if (!where.host.empty()) inet_pton(AF_INET, where.host.c_str(), &a->sin_addr);
    len = sizeof(*a);
  }
  Fd s(socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  // As civetweb binds: with SO_REUSEADDR, only a listening socket is in the way.
  if (s.get() < 0 || setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno == EADDRINUSE)
    throw Error("cannot listen on " + listen_address + " (" + std::strerror(EADDRINUSE) +
                "; is another program using the port?)");
}

WebServer::WebServer(const std::string& listen_address, const std::string& telemetry_path,
                     std::function<Status()> status, const WebConfig& web_config)
    : telemetry_path_(telemetry_path), status_(std::move(status)), web_config_(web_config) {
  // glibc gives threads that allocate at once arenas of their own (up to 8
  // per CPU) and keeps what they free: scrapes spread over 512 workers
  // raised the peak at 500 cgroups from 57 to 99 MiB.
  mallopt(M_ARENA_MAX, 2);
  static CivetCallbacks callbacks;
  callbacks.begin_request = begin_request;
  callbacks.end_request = end_request;
  std::vector<std::string> options{"listening_ports",       civetweb_listening_port(listen_address),
                                   "num_threads",           kWorkerThreads,
                                   "request_timeout_ms",    kRequestTimeoutMs,
                                   "enable_keep_alive",     "yes",
                                   "keep_alive_timeout_ms", kKeepAliveTimeoutMs,
                                   "listen_backlog",        kListenBacklog};
  if (web_config.tls()) {
    tls_pem_ = joined_pem(web_config);
    // civetweb 1.15 wants one function OpenSSL 3 no longer exports: the
    // shim adds it, before civetweb loads and initialises OpenSSL.
    std::string shim = load_ssl_compat();
    if ((mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0)
      throw Error("web config: TLS is unavailable: civetweb could not load OpenSSL (" +
                  (shim.empty() ? std::string("with kscope's OpenSSL 3 shim loaded")
                                : "kscope's OpenSSL 3 shim did not load: " + shim) +
                  "). Basic auth works without TLS.");
    options[1] += "s";  // civetweb: an "s" after the port makes it TLS
    options.insert(options.end(),
                   {"ssl_certificate", "/proc/self/fd/" + std::to_string(tls_pem_.get()),
                    "ssl_protocol_version", "4"});  // TLS 1.2 and later
  }
  g_server.store(this);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(options, &callbacks);
  } catch (const CivetException& e) {
    g_server.store(nullptr);
    throw Error("cannot listen on " + listen_address + " (" + e.what() +
                "; is another program using the port?)");
  }
  auto ports = exposer_->GetListeningPorts();
  listening_ = listening_addresses(ports);
  if (defer_accept(ports, kDeferAcceptSeconds) < static_cast<int>(ports.size()))
    log_warn(
        "web: could not set TCP_DEFER_ACCEPT on every listening socket: connections that "
        "send nothing take a worker thread each until the request timeout");
}

WebServer::~WebServer() {
  // First: from now on every request is answered 503 by begin_request. The
  // Exposer drops its handlers before civetweb stops listening, and a
  // scrape in between would get 404 (a failed scrape, not a retry).
  g_server.store(nullptr);
  // Then the scrapes already admitted (past begin_request, on their way to
  // or in the exposer's handler) finish, a second at most: each holds a
  // slot until end_request. Those still waiting for a slot get 503 at once.
  if (!g_scrape_slots.close_and_drain(std::chrono::steady_clock::now() + std::chrono::seconds(1)))
    log_warn("web: a scrape still running after 1 s is cut by stopping");
  // civetweb's master thread sees the stop only between its polls of the
  // listening sockets, every 2 s: stopping right after a connection took
  // 2 s. A request sent to them while civetweb stops ends the poll at once.
  std::jthread waker([this](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait_for(lock, stop, std::chrono::milliseconds(20), [] { return false; });
      if (stop.stop_requested()) return;
      poke(listening_);
    }
  });
  exposer_.reset();
  waker = {};  // stops and joins it
  g_scrape_slots.reopen();
}

void WebServer::add(const std::weak_ptr<prometheus::Collectable>& collectable,
                    bool counts_scrapes) {
  exposer_->RegisterCollectable(collectable, telemetry_path_);
  if (counts_scrapes) return;
  std::lock_guard lock(mu_);
  live_.push_back(collectable);
}

std::string WebServer::live_metrics() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  {
    std::lock_guard lock(mu_);
    for (const auto& weak : live_)
      if (auto c = weak.lock()) collectables.push_back(std::move(c));
  }
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables) {
    for (auto& f : c->Collect()) {
      bool wanted =
          f.type == prometheus::MetricType::Counter || f.type == prometheus::MetricType::Gauge;
      if (wanted && f.name.starts_with("kscope_")) families.push_back(std::move(f));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

std::vector<int> WebServer::ports() const { return exposer_->GetListeningPorts(); }

}  // namespace kscope
