#include "web.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sys/mman.h>
#include <unistd.h>
#include <string_view>

#include "bpf/error.h"
#include "cli.h"

namespace kscope {
namespace {

// civetweb's callbacks carry no user pointer of ours: one server per process.
std::atomic<WebServer*> g_server{nullptr};

constexpr const char* kAssetPrefix = "/assets/";

int reply(mg_connection* conn, int status, const char* reason, const std::string& type,
          const std::string& body, bool head, const char* extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
            "%sConnection: close\r\n\r\n",
            status, reason, type.c_str(), body.size(), extra_headers);
  if (!head) mg_write(conn, body.data(), body.size());
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
  const mg_request_info* ri = mg_get_request_info(conn);
  WebServer* server = g_server.load();
  std::string uri = ri->local_uri ? ri->local_uri : "";
  bool head = std::strcmp(ri->request_method, "HEAD") == 0;
  if (server == nullptr)
    return reply(conn, 503, "Service Unavailable", "text/plain", "starting\n", head);
  // Every path, the metrics too, behind the same basic auth.
  if (auto auth = server->auth();
      auth->enabled() && !auth->check_header(mg_get_header(conn, "Authorization")))
    return reply(conn, 401, "Unauthorized", "text/plain", "Unauthorized\n", head,
                 "WWW-Authenticate: Basic realm=\"kscope\"\r\n");
  bool live = uri == server->telemetry_path() && has_param(ri->query_string, "source=ui");
  if (uri == server->telemetry_path() && !live) return 0;  // the exposer's handler
  bool asset = uri.starts_with(kAssetPrefix);
  if (uri != "/" && uri != "/api/status" && !asset && !live)
    return reply(conn, 404, "Not Found", "text/plain", "404 page not found\n", head);
  if (!head && std::strcmp(ri->request_method, "GET") != 0)
    return reply(conn, 405, "Method Not Allowed", "text/plain", "method not allowed\n", false);
  if (live)
    return reply(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                 server->live_metrics(), head);
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

WebServer::WebServer(const std::string& listen_address, const std::string& telemetry_path,
                     std::function<Status()> status, const WebConfig& web_config)
    : telemetry_path_(telemetry_path), status_(std::move(status)), web_config_(web_config) {
  static CivetCallbacks callbacks;
  callbacks.begin_request = begin_request;
  std::vector<std::string> options{"listening_ports",    civetweb_listening_port(listen_address),
                                   "num_threads",        "4",
                                   "request_timeout_ms", "10000"};
  if (web_config.tls()) {
    tls_pem_ = joined_pem(web_config);
    // Loads and initialises OpenSSL in civetweb before any server uses it.
    if ((mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0)
      throw Error(
          "web config: TLS is unavailable: civetweb could not load OpenSSL (Debian 12's civetweb "
          "1.15 looks up SSL_get_peer_certificate, which OpenSSL 3 no longer exports; a civetweb "
          "built for OpenSSL 3 fixes it). Basic auth works without TLS.");
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
}

WebServer::~WebServer() {
  exposer_.reset();
  g_server.store(nullptr);
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
