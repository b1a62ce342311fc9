// What kscope's web front shows besides the metrics: the landing page at
// "/" (exporter/web_assets/index.html filled in here; app.js then draws the
// live charts from the telemetry path), /api/status (the same facts as
// JSON) and the page's static files, embedded at build time.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config.h"

namespace kscope {

struct ProbeState {
  bool up = false;
  std::string detail;  // hooks in use, or why it failed
};

// What the page and /api/status report; built per request.
struct Status {
  std::string version;
  std::string telemetry_path;
  Config config;
  std::map<std::string, ProbeState> probes;  // the enabled modules tried so far
};

std::string landing_page(const Status& status);
// {"version", "telemetry_path", "sample_interval_ms", "mode", "attribution",
//  "config" (YAML), "probes": [{"name", "enabled", "up", "detail"}]}
std::string status_json(const Status& status);

std::string html_escape(const std::string& s);
// A JSON string literal, quotes included; "<" as \u003c so that it can sit
// inside a <script> element.
std::string json_string(std::string_view s);

// The files of exporter/web_assets/, embedded by cmake/embed.cmake (which
// generates the definition of web_assets()).
struct WebAsset {
  std::string_view name;  // file name, e.g. "app.js"
  std::string_view body;
};
std::span<const WebAsset> web_assets();
std::optional<WebAsset> find_web_asset(std::string_view name);
// By extension: text/html, text/javascript, text/css, image/svg+xml;
// application/octet-stream for the rest.
std::string content_type(std::string_view name);

}  // namespace kscope
