// The HTML page at "/": what kscope is, each probe's state, the config in
// effect, a link to the metrics.
#pragma once

#include <map>
#include <string>

#include "config.h"

namespace kscope {

struct ProbeState {
  bool up = false;
  std::string detail;  // hooks in use, or why it failed
};

std::string landing_page(const std::string& version, const std::string& telemetry_path,
                         const Config& config, const std::map<std::string, ProbeState>& probes);

std::string html_escape(const std::string& s);

}  // namespace kscope
