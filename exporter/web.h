// The HTTP front: prometheus-cpp's civetweb exposer serves the telemetry
// path; a begin_request callback serves the landing page at "/" and answers
// 404 for everything else.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kscope {

class WebServer {
 public:
  // listen_address: Go style (":9822", "127.0.0.1:0"). landing: builds the
  // HTML of "/" per request. Throws Error when it cannot listen.
  WebServer(const std::string& listen_address, const std::string& telemetry_path,
            std::function<std::string()> landing);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void add(const std::weak_ptr<prometheus::Collectable>& collectable);
  std::vector<int> ports() const;

  // Used by the civetweb callback.
  const std::string& telemetry_path() const { return telemetry_path_; }
  std::string landing_page() const { return landing_(); }

 private:
  std::string telemetry_path_;
  std::function<std::string()> landing_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace kscope
