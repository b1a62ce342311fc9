#include "top/layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kscope::top {
namespace {

constexpr size_t kNum = 12;  // a number column

// Cut to w columns, marking the cut with "~" at the end (or the start:
// cgroup paths say the most at their end).
std::string fit(const std::string& s, size_t w, bool keep_end = false) {
  if (w == 0 || s.size() <= w) return s;
  if (w == 1) return "~";
  return keep_end ? "~" + s.substr(s.size() - (w - 1)) : s.substr(0, w - 1) + "~";
}

std::string left(const std::string& s, size_t w, bool keep_end = false) {
  std::string out = fit(s, w, keep_end);
  return out + std::string(w > out.size() ? w - out.size() : 0, ' ');
}

std::string right(const std::string& s, size_t w) {
  std::string out = fit(s, w);
  return std::string(w > out.size() ? w - out.size() : 0, ' ') + out;
}

std::string format_total(double v, bool bytes) {
  if (bytes) return format_rate(v, true);
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 1e12 ? "%.0f" : "%.3g", v);
  return buf;
}

std::string format_ms(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
  return std::to_string(ms.count()) + "ms";
}

void counters(const View& v, size_t width, std::vector<Line>& out) {
  size_t nw = 7;  // "COUNTER"
  for (const auto& r : v.counters) nw = std::max(nw, r.name.size());
  bool total = true;
  if (width && nw + 2 * (kNum + 1) + 2 > width) {
    total = width >= 24 + 2 * (kNum + 1);
    nw = std::max<size_t>(8, width - (kNum + 1) - (total ? kNum + 3 : 0));
  }
  out.push_back({left("COUNTER", nw) + " " + right("PER SECOND", kNum) +
                     (total ? "   " + right("TOTAL", kNum) : ""),
                 true});
  for (const auto& r : v.counters) {
    bool bytes = r.name.find("bytes") != std::string::npos;
    out.push_back({left(r.name, nw) + " " + right(format_rate(r.rate, bytes), kNum) +
                   (total ? "   " + right(format_total(r.total, bytes), kNum) : "")});
  }
  if (v.zombies)
    out.push_back(
        {left("process_zombies (now)", nw) + " " + right(format_total(*v.zombies, false), kNum)});
}

void cgroups(const View& v, const Frame& f, size_t width, size_t max_rows, std::vector<Line>& out) {
  std::vector<CgroupRow> rows = v.cgroups;
  std::erase_if(rows, [](const CgroupRow& r) { return !r.active; });  // not busy at all
  if (rows.empty() || max_rows == 0) return;
  sort_cgroups(rows, f.sort);
  rows.resize(std::min(rows.size(), max_rows));
  size_t pw = 6, uw = 10;  // "CGROUP", "UNIT / POD"
  for (const auto& r : rows) {
    pw = std::max(pw, r.cgroup.size());
    uw = std::max(uw, r.name.size());
  }
  uw = std::min<size_t>(uw, 28);
  bool narrow = width && width < 50;  // room for the sorted column only
  bool named = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return !r.name.empty(); });
  bool unit = named && (!width || width >= 100);
  size_t nums = narrow ? kNum + 1 : 3 * (kNum + 1);
  if (width) pw = std::min(pw, std::max<size_t>(10, width - nums - (unit ? uw + 1 : 0)));
  struct Col {
    SortBy by;
    const char* title;
  };
  std::vector<Col> cols = {{SortBy::kOpenMinusClose, "OPEN-CLOSE/s"},
                           {SortBy::kBytes, "BYTES/s"},
                           {SortBy::kForks, "FORKS/s"}};
  if (narrow) std::erase_if(cols, [&](const Col& c) { return c.by != f.sort; });
  std::string head = left("CGROUP", pw) + (unit ? " " + left("UNIT / POD", uw) : "");
  for (const auto& c : cols)
    head += " " + right(std::string(c.by == f.sort ? "*" : "") + c.title, kNum);
  out.push_back({"", false});
  out.push_back({head, true});
  for (const auto& r : rows) {
    std::string line = left(r.cgroup, pw, true) + (unit ? " " + left(r.name, uw) : "");
    for (const auto& c : cols) {
      double x = c.by == SortBy::kOpenMinusClose ? r.open_minus_close
                 : c.by == SortBy::kBytes        ? r.bytes
                                                 : r.forks;
      line += " " + right(format_rate(x, c.by == SortBy::kBytes), kNum);
    }
    out.push_back({line});
  }
}

}  // namespace

std::string format_rate(double v, bool bytes) {
  char buf[32];
  if (bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (std::fabs(v) >= 1024 && u < 4) {
      v /= 1024;
      u++;
    }
    std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  } else if (std::fabs(v) >= 1e7) {
    std::snprintf(buf, sizeof(buf), "%.1fM", v / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f", v);
  }
  return buf;
}

std::vector<Line> layout(const std::optional<View>& view, const Frame& f, size_t width,
                         size_t max_cgroups) {
  std::vector<Line> out;
  std::string title = "kscope top - " + f.source + " - every " + format_ms(f.interval);
  if (!f.clock.empty()) title += " - " + f.clock;
  if (f.interactive) title += "   (q: quit, s: sort cgroups)";
  out.push_back({title, true});
  if (view && !view->probes.empty()) {
    std::string probes = "probes:";
    for (const auto& [name, up] : view->probes) probes += " " + name + (up ? " up" : " DOWN");
    out.push_back({probes});
  }
  for (const auto& [name, why] : f.down) out.push_back({"  " + name + ": " + why});
  if (!f.error.empty()) out.push_back({"error: " + f.error});
  out.push_back({""});
  if (!view) {
    out.push_back({"waiting for kscope's next sample..."});
  } else {
    counters(*view, width, out);
    cgroups(*view, f, width, max_cgroups, out);
  }
  for (auto& l : out) l.text = fit(l.text, width);
  return out;
}

}  // namespace kscope::top
