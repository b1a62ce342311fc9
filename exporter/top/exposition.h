// What `kscope top` reads, from either source: the text exposition format of
// a /metrics page, or prometheus-cpp's families from an in-process registry.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kscope::top {

enum class Kind { kCounter, kGauge, kOther };

struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  // name and labels in one string: identifies the series across scrapes.
  std::string key() const;
};

struct Scrape {
  std::map<std::string, Kind> kinds;  // family name -> type, from "# TYPE"
  std::vector<Series> series;         // counters and gauges (histograms are left out)
};

// Throws Error naming the line that is not in the text format.
Scrape parse_exposition(std::string_view text);
Scrape from_families(const std::vector<prometheus::MetricFamily>& families);

}  // namespace kscope::top
