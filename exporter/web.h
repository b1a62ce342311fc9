// The HTTP front: prometheus-cpp's civetweb exposer serves the telemetry
// path; a begin_request callback serves the rest: the landing page at "/",
// its files at /assets/<name>, /api/status, the telemetry path for kscope's
// own live views (<path>?source=ui), and 404 for everything else. Only GET
// and HEAD without a body are served (405, 400 otherwise), and basic auth
// follows the web config file as it changes. web.cpp says how the server
// is set up to hold against slow and hostile clients.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bpf/object.h"
#include "landing.h"
#include "web_config.h"

namespace kscope {

// Throws the Error WebServer would when the address is taken (a listening
// socket holds it), so kscope can say so before loading anything: it
// listens only once its probes are loaded.
void check_can_listen(const std::string& listen_address);

class WebServer {
 public:
  // listen_address: Go style (":9822", "127.0.0.1:0"). status: what the
  // landing page and /api/status show, built per request. Throws Error when
  // it cannot listen.
  // web_config: TLS and basic auth (both optional), for every path.
  WebServer(const std::string& listen_address, const std::string& telemetry_path,
            std::function<Status()> status, const WebConfig& web_config = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // counts_scrapes: the collectable counts Prometheus' scrapes (to know when
  // final values were seen), so the live views must not call it.
  void add(const std::weak_ptr<prometheus::Collectable>& collectable, bool counts_scrapes = false);
  std::vector<int> ports() const;

  // Used by the civetweb callback.
  const std::string& telemetry_path() const { return telemetry_path_; }
  Status status() const { return status_(); }
  // The telemetry path's text for the landing page and `kscope top`: only
  // kscope_* counters and gauges (no histograms: far less text per poll),
  // and not counted as a scrape.
  std::string live_metrics() const;
  // The basic auth in force: the web config file is re-read when it changes.
  std::shared_ptr<BasicAuth> auth() { return web_config_.auth(); }

 private:
  std::string telemetry_path_;
  std::function<Status()> status_;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> live_;  // under mu_
  LiveWebConfig web_config_;
  Fd tls_pem_;  // the certificate and key, for civetweb's one-file option
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<sockaddr_storage> listening_;  // to wake civetweb when stopping
};

}  // namespace kscope
