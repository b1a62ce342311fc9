#include "top/top.h"

#include <ncurses.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>

#include "bpf/error.h"
#include "cli.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "top/layout.h"
#include "top/source.h"

namespace kscope {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct TopFlags {
  std::string url;  // empty: probes in this process
  milliseconds interval{1000};
  std::string config_file;
  bool help = false;
};

std::string usage(const std::string& program) {
  std::string name = program.substr(program.find_last_of('/') + 1);
  return "usage: " + name +
         " top [<flags>]\n\n"
         "Per-second rates of every kscope counter (summed over cgroups), zombies now and\n"
         "the busiest cgroups, refreshed every interval. Keys: q quits, s sorts the cgroups.\n"
         "With TERM=dumb or stdout not a terminal: one plain table per interval.\n\n"
         "Flags:\n"
         "  -h, --help                 Show this help and exit.\n"
         "      --url=URL              A running kscope's metrics, http://host:port/metrics.\n"
         "                             Plain HTTP: TLS and basic auth come with\n"
         "                             --web.config.file support, which does not exist yet.\n"
         "                             Without --url, the probes are loaded in this process\n"
         "                             (root, as for kscope).\n"
         "      --interval=1s          Refresh interval (ms, s, m; 100ms to 1h).\n"
         "      --config.file=PATH     Without --url: modules, mode and attribution to use.\n";
}

milliseconds parse_interval(const std::string& v) {
  size_t digits = v.find_first_not_of("0123456789.");
  std::string unit = digits == std::string::npos ? "s" : v.substr(digits);
  double n = 0;
  try {
    n = std::stod(v.substr(0, digits));
  } catch (const std::exception&) {
    throw UsageError("flag --interval: expected a duration like 500ms or 2s, got \"" + v + "\"");
  }
  double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : -1;
  if (scale < 0)
    throw UsageError("flag --interval: unknown unit \"" + unit + "\" (use ms, s or m)");
  auto ms = milliseconds(static_cast<int64_t>(n * scale));
  if (ms < milliseconds(100) || ms > std::chrono::hours(1))
    throw UsageError("flag --interval: must be from 100ms to 1h, got \"" + v + "\"");
  return ms;
}

TopFlags parse_top_flags(const std::vector<std::string>& args) {
  TopFlags f;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      f.help = true;
      continue;
    }
    size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    if (name != "--url" && name != "--interval" && name != "--config.file")
      throw UsageError("top: unknown flag or argument \"" + a + "\"");
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw UsageError("flag " + name + ": expected a value");
    }
    if (name == "--url") f.url = value;
    if (name == "--interval") f.interval = parse_interval(value);
    if (name == "--config.file") f.config_file = value;
  }
  if (!f.url.empty() && !f.config_file.empty())
    throw UsageError("flag --config.file: only without --url (the running kscope has its own)");
  return f;
}

std::string clock_now() {
  std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", std::localtime(&t));
  return buf;
}

// Fetches and turns scrapes into views; keeps the last view when kscope
// has not sampled since, and the error when a fetch fails.
struct Feed {
  top::Source& source;
  top::RateTracker tracker;
  std::optional<top::View> view;
  top::Frame frame;

  bool refresh() {  // true when there is a new view
    try {
      auto scrape = source.fetch();
      frame.error.clear();
      frame.down = source.down();
      auto v = tracker.update(scrape, Clock::now());
      if (!v) return false;
      view = std::move(v);
      frame.clock = clock_now();
      return true;
    } catch (const std::exception& e) {
      frame.error = e.what();
      return false;
    }
  }
};

void draw(Feed& feed) {
  int rows, cols;
  getmaxyx(stdscr, rows, cols);
  // Cgroup rows past the bottom are cut with the rest.
  auto lines = top::layout(feed.view, feed.frame, static_cast<size_t>(std::max(cols, 1)),
                           static_cast<size_t>(std::max(rows, 0)));
  erase();
  for (int y = 0; y < rows && y < static_cast<int>(lines.size()); y++) {
    if (lines[y].heading) attron(A_BOLD);
    mvaddnstr(y, 0, lines[y].text.c_str(), cols);
    if (lines[y].heading) attroff(A_BOLD);
  }
  refresh();
}

// The ncurses view; -1 when the terminal cannot have one.
int interactive(Feed& feed, milliseconds interval) {
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (!screen) return -1;
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  feed.frame.interactive = true;
  auto next = Clock::now();
  while (!g_stop) {
    feed.refresh();
    draw(feed);
    next += interval;
    if (next < Clock::now()) next = Clock::now();  // fell behind: no burst
    for (auto now = Clock::now(); now < next && !g_stop; now = Clock::now()) {
      timeout(static_cast<int>(std::chrono::ceil<milliseconds>(next - now).count()));
      int ch = getch();
      if (ch == 'q' || ch == 'Q') g_stop = true;
      if (ch == 's' || ch == 'S') {
        feed.frame.sort = static_cast<top::SortBy>((static_cast<int>(feed.frame.sort) + 1) % 3);
        draw(feed);
      }
      if (ch == KEY_RESIZE) draw(feed);
    }
  }
  endwin();
  delscreen(screen);
  return 0;
}

// One table per new view, for logs and pipes. "q" and Enter on stdin quit.
int plain(Feed& feed, milliseconds interval) {
  bool stdin_open = true;
  auto next = Clock::now();
  std::string last_error;
  while (!g_stop) {
    if (feed.refresh()) {
      for (const auto& l : top::layout(feed.view, feed.frame, 0, 10)) std::cout << l.text << '\n';
      std::cout << '\n';
    } else if (!feed.frame.error.empty() && feed.frame.error != last_error) {
      std::cerr << "kscope top: " << feed.frame.error << '\n';
    }
    last_error = feed.frame.error;
    std::cout.flush();
    if (!std::cout) return 0;  // the reader went away (| head): done
    next += interval;
    if (next < Clock::now()) next = Clock::now();
    for (auto now = Clock::now(); now < next && !g_stop; now = Clock::now()) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      int ms = static_cast<int>(std::chrono::ceil<milliseconds>(next - now).count());
      if (poll(&p, stdin_open ? 1 : 0, ms) > 0) {
        char buf[256];
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n <= 0) stdin_open = false;  // EOF (e.g. </dev/null): stop watching it
        if (n > 0 && (buf[0] == 'q' || buf[0] == 'Q')) g_stop = true;
      }
    }
  }
  return 0;
}

}  // namespace

int run_top(const std::vector<std::string>& args, const std::string& program) {
  TopFlags flags = parse_top_flags(args);
  if (flags.help) {
    std::cout << usage(program);
    return 0;
  }
  std::unique_ptr<top::Source> source;
  if (!flags.url.empty()) {
    source = std::make_unique<top::HttpSource>(flags.url);
  } else {
    set_log_level(LogLevel::kError);  // the screen is ours; failures show in it
    route_libbpf_log();
    std::set<std::string> modules = collector_names();
    Config config = flags.config_file.empty() ? default_config(modules)
                                              : load_config_file(flags.config_file, modules);
    source = std::make_unique<top::LocalSource>(config);
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: getch() and poll() return at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed pipe shows as a write error instead

  source->fetch();  // a wrong URL fails here, before any screen; learns the interval
  Feed feed{*source, top::RateTracker(source->sample_interval()), std::nullopt, {}};
  feed.frame.source = source->describe();
  feed.frame.interval = flags.interval;

  const char* term = getenv("TERM");
  bool tty = isatty(STDOUT_FILENO) && term && *term && std::string(term) != "dumb";
  if (tty) {
    int status = interactive(feed, flags.interval);
    if (status >= 0) return status;
  }
  return plain(feed, flags.interval);
}

}  // namespace kscope
