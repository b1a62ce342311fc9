#include "landing.h"

#include <cstdio>

namespace kscope {
namespace {

// Replaces every "{{key}}" of the template; values come escaped.
std::string fill(std::string_view tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t at = 0;
  while (true) {
    size_t open = tmpl.find("{{", at);
    size_t close = open == std::string_view::npos ? open : tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    auto it = values.find(std::string(tmpl.substr(open + 2, close - open - 2)));
    out += tmpl.substr(at, (it == values.end() ? close + 2 : open) - at);
    if (it != values.end()) out += it->second;
    at = close + 2;
  }
  out += tmpl.substr(at);
  return out;
}

std::string probe_rows(const Status& s) {
  std::string rows;
  for (const auto& [name, module] : s.config.modules) {
    auto st = s.probes.find(name);
    std::string state = !module.enabled        ? "disabled"
                        : st == s.probes.end() ? "starting"
                        : st->second.up        ? "up"
                                               : "down";
    std::string detail = !module.enabled        ? "disabled in the configuration"
                         : st == s.probes.end() ? ""
                                                : st->second.detail;
    rows += "<tr data-probe=\"" + html_escape(name) + "\" data-state=\"" + state + "\"><td>" +
            html_escape(name) + "</td><td class=\"state\">" + state + "</td><td>" +
            html_escape(detail) + "</td></tr>\n";
  }
  return rows;
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == '<') {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string status_json(const Status& s) {
  std::string probes;
  for (const auto& [name, module] : s.config.modules) {
    auto st = s.probes.find(name);
    bool up = st != s.probes.end() && st->second.up;
    std::string detail = st != s.probes.end() ? st->second.detail : "";
    probes += std::string(probes.empty() ? "" : ",") + "{\"name\":" + json_string(name) +
              ",\"enabled\":" + (module.enabled ? "true" : "false") +
              ",\"up\":" + (up ? "true" : "false") + ",\"detail\":" + json_string(detail) + "}";
  }
  return "{\"version\":" + json_string(s.version) +
         ",\"telemetry_path\":" + json_string(s.telemetry_path) +
         ",\"sample_interval_ms\":" + std::to_string(s.config.sample_interval.count()) +
         ",\"mode\":" + json_string(mode_name(s.config.mode)) +
         ",\"attribution\":" + json_string(attribution_name(s.config.attribution)) +
         ",\"config\":" + json_string(to_yaml(s.config)) + ",\"probes\":[" + probes + "]}";
}

std::string landing_page(const Status& s) {
  auto tmpl = find_web_asset("index.html");
  if (!tmpl) return "<!DOCTYPE html><title>kscope</title><p>index.html was not embedded</p>\n";
  return fill(tmpl->body, {{"version", html_escape(s.version)},
                           {"telemetry_path", html_escape(s.telemetry_path)},
                           {"probe_rows", probe_rows(s)},
                           {"config", html_escape(to_yaml(s.config))},
                           {"status_json", status_json(s)}});
}

std::optional<WebAsset> find_web_asset(std::string_view name) {
  for (const auto& a : web_assets())
    if (a.name == name) return a;
  return std::nullopt;
}

std::string content_type(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace kscope
