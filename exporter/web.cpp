#include "web.h"

#include <CivetServer.h>
#include <civetweb.h>

#include <atomic>
#include <cstring>

#include "bpf/error.h"
#include "cli.h"

namespace kscope {
namespace {

// civetweb's callbacks carry no user pointer of ours: one server per process.
std::atomic<WebServer*> g_server{nullptr};

int reply(mg_connection* conn, int status, const char* reason, const char* type,
          const std::string& body, bool head) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
            status, reason, type, body.size());
  if (!head) mg_write(conn, body.data(), body.size());
  return status;  // non-zero: handled here
}

int begin_request(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  WebServer* server = g_server.load();
  std::string uri = ri->local_uri ? ri->local_uri : "";
  bool head = std::strcmp(ri->request_method, "HEAD") == 0;
  if (server == nullptr)
    return reply(conn, 503, "Service Unavailable", "text/plain", "starting\n", head);
  if (uri == server->telemetry_path()) return 0;  // the exposer's handler
  if (uri != "/") return reply(conn, 404, "Not Found", "text/plain", "404 page not found\n", head);
  if (!head && std::strcmp(ri->request_method, "GET") != 0)
    return reply(conn, 405, "Method Not Allowed", "text/plain", "method not allowed\n", false);
  return reply(conn, 200, "OK", "text/html; charset=utf-8", server->landing_page(), head);
}

}  // namespace

WebServer::WebServer(const std::string& listen_address, const std::string& telemetry_path,
                     std::function<std::string()> landing)
    : telemetry_path_(telemetry_path), landing_(std::move(landing)) {
  static CivetCallbacks callbacks;
  callbacks.begin_request = begin_request;
  g_server.store(this);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", civetweb_listening_port(listen_address),
                                 "num_threads", "4", "request_timeout_ms", "10000"},
        &callbacks);
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

void WebServer::add(const std::weak_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable, telemetry_path_);
}

std::vector<int> WebServer::ports() const { return exposer_->GetListeningPorts(); }

}  // namespace kscope
