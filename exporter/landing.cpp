#include "landing.h"

namespace kscope {

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

std::string landing_page(const std::string& version, const std::string& telemetry_path,
                         const Config& config, const std::map<std::string, ProbeState>& probes) {
  std::string rows;
  for (const auto& [name, st] : probes) {
    rows += "<tr><td>" + html_escape(name) + "</td><td>" + (st.up ? "up" : "down") + "</td><td>" +
            html_escape(st.detail) + "</td></tr>\n";
  }
  std::string path = html_escape(telemetry_path);
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kscope</title></head>\n"
         "<body>\n<h1>kscope " +
         html_escape(version) +
         "</h1>\n<p>Kernel metrics from eBPF: file descriptors, VFS I/O and processes.</p>\n"
         "<p><a href=\"" +
         path +
         "\">Metrics</a></p>\n<h2>Probes</h2>\n<table>\n"
         "<tr><th>probe</th><th>state</th><th>detail</th></tr>\n" +
         rows + "</table>\n<h2>Configuration</h2>\n<pre>" + html_escape(to_yaml(config)) +
         "</pre>\n</body></html>\n";
}

}  // namespace kscope
