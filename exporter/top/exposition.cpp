#include "top/exposition.h"

#include <cstdlib>

#include "bpf/error.h"

namespace kscope::top {
namespace {

Kind kind_of(std::string_view type) {
  if (type == "counter") return Kind::kCounter;
  if (type == "gauge") return Kind::kGauge;
  return Kind::kOther;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

// name{label="value",...} value [timestamp]; false when malformed.
bool parse_line(std::string_view line, Series& out) {
  size_t i = 0;
  while (i < line.size() && is_name_char(line[i])) i++;
  if (i == 0) return false;
  out.name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    i++;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return false;
      std::string key(line.substr(i, eq - i));
      std::string value;
      for (i = eq + 2; i < line.size() && line[i] != '"'; i++) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          i++;
          value += line[i] == 'n' ? '\n' : line[i];
        } else {
          value += line[i];
        }
      }
      if (i >= line.size()) return false;
      out.labels[key] = value;
      i++;  // closing quote
      if (i < line.size() && line[i] == ',') i++;
    }
    if (i >= line.size()) return false;
    i++;  // closing brace
  }
  while (i < line.size() && line[i] == ' ') i++;
  std::string number(line.substr(i, line.find(' ', i) - i));
  char* end = nullptr;
  out.value = std::strtod(number.c_str(), &end);  // also "+Inf", "NaN"
  return !number.empty() && end && *end == '\0';
}

}  // namespace

std::string Series::key() const {
  std::string k = name;
  for (const auto& [l, v] : labels) k += '\x1f' + l + '=' + v;
  return k;
}

Scrape parse_exposition(std::string_view text) {
  Scrape s;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line_no++;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("# TYPE ")) {
      std::string_view rest = line.substr(7);
      size_t sp = rest.find(' ');
      if (sp != std::string_view::npos)
        s.kinds[std::string(rest.substr(0, sp))] = kind_of(rest.substr(sp + 1));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    Series series;
    if (!parse_line(line, series)) {
      throw Error("line " + std::to_string(line_no) +
                  " is not in the Prometheus text format: " + std::string(line.substr(0, 80)));
    }
    auto k = s.kinds.find(series.name);  // histogram parts (_bucket...) have no TYPE of their own
    if (k != s.kinds.end() && k->second != Kind::kOther) s.series.push_back(std::move(series));
  }
  return s;
}

Scrape from_families(const std::vector<prometheus::MetricFamily>& families) {
  Scrape s;
  for (const auto& f : families) {
    Kind kind = f.type == prometheus::MetricType::Counter ? Kind::kCounter
                : f.type == prometheus::MetricType::Gauge ? Kind::kGauge
                                                          : Kind::kOther;
    s.kinds[f.name] = kind;
    if (kind == Kind::kOther) continue;
    for (const auto& m : f.metric) {
      Series series{f.name, {}, kind == Kind::kCounter ? m.counter.value : m.gauge.value};
      for (const auto& l : m.label) series.labels[l.name] = l.value;
      s.series.push_back(std::move(series));
    }
  }
  return s;
}

}  // namespace kscope::top
