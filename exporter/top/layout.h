// The text of one `kscope top` screen, as lines no wider than the terminal:
// the same for the ncurses view and the plain tables of a pipe or TERM=dumb.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "top/rates.h"

namespace kscope::top {

struct Line {
  std::string text;
  bool heading = false;  // drawn bold
};

struct Frame {
  std::string source;  // what is read: the URL, or the in-process probes
  std::chrono::milliseconds interval{1000};
  std::string clock;                        // local time of the view, HH:MM:SS
  std::string error;                        // the last fetch's, if it failed
  std::map<std::string, std::string> down;  // probe -> why it is down, when known
  SortBy sort = SortBy::kBytes;
  bool interactive = false;  // shows the keys
};

// width 0: no limit (plain tables). At most max_cgroups cgroup rows.
std::vector<Line> layout(const std::optional<View>& view, const Frame& frame, size_t width,
                         size_t max_cgroups);

// "2013.4", "12.3M"; bytes: "512 B", "1.2 MiB".
std::string format_rate(double v, bool bytes);

}  // namespace kscope::top
