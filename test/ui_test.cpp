// The live views, end to end: the landing page in a headless Chromium, and
// `kscope top` in tmux and in a pipe, against a workload of known rate.
// UPDATE_SCREENSHOTS=1 copies the screenshots into docs/.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <thread>

#include "bpf_test_util.h"
#include "cgroup/metadata.h"
#include "e2e_util.h"
#include "top/exposition.h"
#include "top/layout.h"
#include "top/rates.h"
#include "ui_util.h"

namespace kscope::test {
namespace {

const std::string kBinary = KSCOPE_BINARY;
const std::string kBuildDir = KSCOPE_BUILD_DIR;  // screenshots land here
const std::string kDocs = KSCOPE_DOCS;

void publish(const std::string& file) {
  if (!getenv("UPDATE_SCREENSHOTS")) return;
  std::filesystem::copy_file(kBuildDir + "/" + file, kDocs + "/" + file,
                             std::filesystem::copy_options::overwrite_existing);
}

// kscope on a free loopback port, sampling every 200 ms (or as `config` says).
class Kscope {
 public:
  explicit Kscope(const std::string& config = "sample_interval: 200ms\n")
      : config_(write_temp(config)) {
    std::vector<std::string> argv{kBinary, "--web.listen-address=127.0.0.1:0",
                                  "--config.file=" + config_};
    child_ = std::make_unique<Child>(argv);
    if (auto p = child_->port()) port_ = *p;
  }
  ~Kscope() {
    EXPECT_EQ(child_->stop(), 0) << child_->log();
    unlink(config_.c_str());
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string log() const { return child_->log(); }

 private:
  std::string config_;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

// A child process that opens and closes /dev/null `opens` times a second,
// paced every 10 ms, in a cgroup of its own when it can make one. busy: also
// reads, writes and forks, for charts and screenshots with every line moving.
class Workload {
 public:
  explicit Workload(int opens, bool busy = false) {
    std::ifstream mountinfo("/proc/self/mountinfo");
    auto mount = find_cgroup2_mount(std::string((std::istreambuf_iterator<char>(mountinfo)), {}));
    if (mount && geteuid() == 0) {
      cgroup_ = "/kscope-ui-" + std::to_string(getpid());
      if (mkdir((*mount + cgroup_).c_str(), 0755) == 0) dir_ = *mount + cgroup_;
    }
    pid_ = fork();
    if (pid_ != 0) return;
    if (!dir_.empty()) {
      int procs = open((dir_ + "/cgroup.procs").c_str(), O_WRONLY);
      if (procs >= 0 && write(procs, "0", 1) != 1) _exit(2);
      close(procs);
    }
    std::vector<char> buf(64 * 1024);
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
    auto start = std::chrono::steady_clock::now();
    for (int tick = 1;; tick++) {
      for (int i = 0; i < opens / 100; i++) close(open("/dev/null", O_RDONLY));
      if (busy) {
        for (int i = 0; i < 20; i++)
          if (read(zero, buf.data(), buf.size()) < 0 || write(null, buf.data(), 4096) < 0) _exit(3);
        if (tick % 5 == 0) {
          pid_t kid = fork();
          if (kid == 0) _exit(0);
          waitpid(kid, nullptr, 0);
        }
      }
      std::this_thread::sleep_until(start + std::chrono::milliseconds(10 * tick));
    }
  }
  ~Workload() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    for (int i = 0; i < 100 && !dir_.empty() && rmdir(dir_.c_str()) != 0; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string& cgroup() const { return cgroup_; }

 private:
  pid_t pid_ = -1;
  std::string cgroup_, dir_;
};

// The node's open count at each kscope sample, from /metrics: what a rate
// shown by the page or by top must agree with, background included.
class OpenCounts {
 public:
  OpenCounts(int port, double interval_seconds) : port_(port), interval_(interval_seconds) {}
  void record() {
    auto m = parse_metrics(http_get(port_, "/metrics?source=ui").body);
    double s = m["kscope_samples_total"], o = total(m, "kscope_fd_open_calls_total");
    // The smallest: a scrape in the middle of a sampling pass can see the
    // next sample's counts early.
    if (!at_.count(s) || o < at_[s]) at_[s] = o;
  }
  void record_for(std::chrono::milliseconds d) {
    for (auto until = std::chrono::steady_clock::now() + d;
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(20)))
      record();
  }
  // Opens per second between two samples; nullopt when one was not seen.
  std::optional<double> rate(double s0, double s) const {
    if (!at_.count(s0) || !at_.count(s) || s <= s0) return std::nullopt;
    return (at_.at(s) - at_.at(s0)) / ((s - s0) * interval_);
  }
  // The highest rate over any window of `min` to `max` samples seen.
  double max_rate(int min, int max) const {
    double best = 0;
    for (const auto& [s, _] : at_)
      for (int k = min; k <= max; k++) best = std::max(best, rate(s, s + k).value_or(0));
    return best;
  }

 private:
  int port_;
  double interval_;
  std::map<double, double> at_;
};

// --- Pieces of `kscope top`, no kernel needed.

TEST(TopUnits, ParsesTheTextFormatAndLeavesHistogramsOut) {
  auto s = top::parse_exposition(
      "# HELP kscope_fd_open_calls_total x\n# TYPE kscope_fd_open_calls_total counter\n"
      "kscope_fd_open_calls_total{cgroup=\"/a \\\"b\\\"\"} 12\n"
      "kscope_fd_open_calls_total{cgroup=\"/c\"} 3 1700000000000\n"
      "# TYPE kscope_vfs_read_size_bytes histogram\n"
      "kscope_vfs_read_size_bytes_bucket{le=\"+Inf\"} 4\n"
      "# TYPE kscope_process_zombies gauge\nkscope_process_zombies 2\n");
  ASSERT_EQ(s.series.size(), 3u);
  EXPECT_EQ(s.series[0].labels.at("cgroup"), "/a \"b\"");
  EXPECT_EQ(s.series[1].value, 3);
  EXPECT_EQ(s.kinds.at("kscope_process_zombies"), top::Kind::kGauge);
  EXPECT_THROW(top::parse_exposition("<html>\n"), std::exception);
}

TEST(TopUnits, RatesAreOverKscopesClockAndSurviveSeriesThatLeave) {
  auto scrape = [](double samples, double a, std::optional<double> b) {
    std::string text = "# TYPE kscope_samples_total counter\nkscope_samples_total " +
                       std::to_string(samples) +
                       "\n# TYPE kscope_fd_open_calls_total counter\n"
                       "kscope_fd_open_calls_total{cgroup=\"/a\"} " +
                       std::to_string(a) + "\n";
    if (b) text += "kscope_fd_open_calls_total{cgroup=\"/b\"} " + std::to_string(*b) + "\n";
    return top::parse_exposition(text);
  };
  top::RateTracker t(std::chrono::milliseconds(100));
  auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(t.update(scrape(10, 1000, 500), now));  // nothing to compare yet
  // 5 samples of 100 ms later, whatever the wall clock says: 0.5 s.
  auto v = t.update(scrape(15, 1500, 600), now + std::chrono::seconds(3));
  ASSERT_TRUE(v);
  EXPECT_DOUBLE_EQ(v->seconds, 0.5);
  ASSERT_FALSE(v->counters.empty());
  EXPECT_EQ(v->counters[0].name, "fd_open_calls_total");
  EXPECT_DOUBLE_EQ(v->counters[0].rate, 1200);
  EXPECT_FALSE(t.update(scrape(15, 1500, 600), now)) << "no new sample: no new view";
  v = t.update(scrape(16, 1600, std::nullopt), now);  // /b left: not a drop
  ASSERT_TRUE(v);
  EXPECT_DOUBLE_EQ(v->counters[0].rate, 1000);
  EXPECT_EQ(v->counters[0].total, 1600);
}

TEST(TopUnits, LayoutFitsANarrowTerminal) {
  top::View v;
  v.counters = {{"process_create_errors_total", 1.5, 12}, {"fd_open_calls_total", 2000, 1e6}};
  v.cgroups = {{"/kubepods.slice/very/long/path/cri-containerd-0123456789abcdef.scope",
                "default/web-0", 3, 4096, 1}};
  top::Frame f;
  f.source = "http://127.0.0.1:9822/metrics";
  for (size_t width : {20u, 30u, 40u, 80u, 120u}) {
    auto lines = top::layout(v, f, width, 10);
    bool open_row = false;
    for (const auto& l : lines) {
      EXPECT_LE(l.text.size(), width) << l.text;
      open_row = open_row || (l.text.starts_with("fd_open_calls_") &&
                              l.text.find("2000.0") != std::string::npos);
    }
    EXPECT_TRUE(open_row || width < 30) << width;  // below 30, the name is cut short
  }
  EXPECT_EQ(top::format_rate(1536, true), "1.5 KiB");
}

// --- The landing page in Chromium.

// The charts' fewest data points (0 while any chart has none).
int fewest_points(Chromium& b) {
  std::string n = b.eval(
      "(a => a.length ? Math.min(...a) : 0)([...document.querySelectorAll('figure.chart')].map("
      "f => +(f.dataset.points || 0)))");
  return n.empty() ? 0 : std::stoi(n);
}

TEST(LandingPage, ChartsFillAndTheOpenRateMatchesTheMetrics) {
  KSCOPE_REQUIRE_BPF();
  Kscope k;
  ASSERT_NE(k.port(), 0) << k.log();
  constexpr double kOpens = 5000;
  Workload w(kOpens, /*busy=*/true);
  OpenCounts opens(k.port(), 0.2);
  auto record = [&] { opens.record(); };
  record();
  Chromium browser;
  ASSERT_TRUE(browser.ok()) << browser.log();
  browser.open(k.url());
  const int want_points = getenv("UPDATE_SCREENSHOTS") ? 40 : 3;  // a fuller picture for docs/
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (fewest_points(browser) < want_points && std::chrono::steady_clock::now() < until) {
    record();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  ASSERT_GE(fewest_points(browser), 2)
      << "charts did not fill: " << browser.eval("document.body.innerText") << "\n"
      << browser.log();
  EXPECT_EQ(browser.attr("#live", "data-state"), "live");

  // The page's latest open rate against the same two samples read from
  // /metrics; a later point if one of its reads fell inside a sampling pass.
  double rate = 0, expected = -1;
  std::string last;
  for (int attempt = 0; attempt < 4; attempt++) {
    for (int i = 0; i < 100 && browser.attr("#chart-fd", "data-last-samples") == last; i++) {
      record();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    record();
    last = browser.attr("#chart-fd", "data-last-samples");
    rate = std::stod(browser.attr("#chart-fd", "data-last-open-rate"));
    double s = std::stod(last), s0 = std::stod(browser.attr("#chart-fd", "data-prev-samples"));
    expected = opens.rate(s0, s).value_or(-1);
    if (std::fabs(rate - expected) <= 0.1 * expected) break;
  }
  EXPECT_NEAR(rate, expected, 0.1 * expected) << "page's open rate vs two scrapes";
  EXPECT_GE(rate, 0.9 * kOpens) << "the workload alone opens " << kOpens << "/s";
  EXPECT_NE(browser.attr("#chart-fd", "data-last-close-rate"), "");
  EXPECT_NE(browser.attr("#chart-vfs-bytes", "data-last-read-bytes-rate"), "");
  EXPECT_NE(browser.attr("#chart-zombies", "data-last-zombies"), "");
  if (!w.cgroup().empty()) {
    EXPECT_NE(browser.attr("#cgroups tr[data-cgroup='" + w.cgroup() + "']", "data-cgroup"), "")
        << "workload's cgroup not among the busiest: "
        << browser.eval("document.getElementById('cgroups').innerText");
  }
  EXPECT_EQ(browser.attr("#probes tr[data-probe='fd']", "data-state"), "up");
  ASSERT_TRUE(browser.screenshot(kBuildDir + "/landing.png")) << browser.log();
  publish("landing.png");
}

TEST(LandingPage, ProbesDownShowAsDownNotAsEmptyCharts) {
  // Every probe down, on any kernel: fentry needs BTF, and there is none here.
  Kscope k(
      "sample_interval: 200ms\nbtf_path: /nonexistent/kscope/vmlinux\nmodules:\n"
      "  fd: {attach: fentry}\n  vfs: {attach: fentry}\n  process: {attach: fentry}\n");
  ASSERT_NE(k.port(), 0) << k.log();
  Chromium browser;
  ASSERT_TRUE(browser.ok()) << browser.log();
  browser.open(k.url());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (browser.attr("#live", "data-state") != "live" && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(browser.attr("#live", "data-state"), "live");
  for (const char* chart : {"fd", "vfs-calls", "vfs-bytes", "tasks", "zombies"}) {
    std::string sel = std::string("#chart-") + chart;
    EXPECT_EQ(browser.attr(sel, "data-state"), "down") << chart;
    EXPECT_EQ(browser.eval("document.querySelector('" + sel + "').hasAttribute('data-points')"),
              "false")
        << chart << ": drawn as an empty chart";
    EXPECT_NE(browser.eval("document.querySelector('" + sel + " .reason').textContent")
                  .find("probe is down: "),
              std::string::npos)
        << chart;
  }
  for (const char* probe : {"fd", "vfs", "process"})
    EXPECT_EQ(browser.attr(std::string("#probes tr[data-probe='") + probe + "']", "data-state"),
              "down")
        << probe;
  EXPECT_EQ(browser.eval("document.getElementById('cgroups-section').hidden"), "true");
}

TEST(LandingPage, ServesStatusAssetsAndALiveViewThatIsNoScrape) {
  Kscope k("sample_interval: 200ms\nmodules:\n  vfs: {enabled: false}\n");
  ASSERT_NE(k.port(), 0) << k.log();
  auto page = http_get(k.port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<tr data-probe=\"vfs\" data-state=\"disabled\">"), std::string::npos);
  EXPECT_NE(page.body.find("src=\"assets/app.js\""), std::string::npos);
  for (auto [path, type] :
       {std::pair<std::string, std::string>{"/assets/app.js", "text/javascript"},
        {"/assets/style.css", "text/css"},
        {"/api/status", "application/json"}}) {
    auto r = http_get(k.port(), path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_NE(r.headers.find("Content-Type: " + type), std::string::npos) << r.headers;
  }
  for (const char* missing : {"/assets/nope.js", "/assets/index.html", "/api/nope"})
    EXPECT_EQ(http_get(k.port(), missing).status, 404) << missing;
  auto status = http_get(k.port(), "/api/status").body;
  EXPECT_NE(status.find("\"sample_interval_ms\":200"), std::string::npos) << status;
  EXPECT_NE(status.find("{\"name\":\"vfs\",\"enabled\":false"), std::string::npos) << status;

  // ?source=ui: kscope_ counters and gauges only, and not a scrape.
  double before = parse_metrics(http_get(k.port(), "/metrics").body)["exposer_scrapes_total"];
  auto live = http_get(k.port(), "/metrics?source=ui");
  for (int i = 0; i < 3; i++) http_get(k.port(), "/metrics?source=ui");
  double after = parse_metrics(http_get(k.port(), "/metrics").body)["exposer_scrapes_total"];
  EXPECT_EQ(after, before + 1) << "live view fetches counted as scrapes";
  EXPECT_EQ(live.status, 200);
  EXPECT_NE(live.body.find("kscope_samples_total"), std::string::npos);
  EXPECT_EQ(live.body.find("_bucket"), std::string::npos);
  EXPECT_EQ(live.body.find("process_cpu_seconds_total"), std::string::npos);
}

// --- kscope top.

// The per-second number on the fd_open_calls_total row of a screen; -1 if none.
double open_rate(const std::string& screen) {
  std::smatch m;
  static const std::regex row(R"(\nfd_open_calls_total +([0-9.]+))");
  return std::regex_search(screen, m, row) ? std::stod(m[1]) : -1;
}

// 2000 opens/s for 3 s: each refresh of top (every 500 ms) within it shows
// at least 0.9x that, and no more than the node did: the rest of the machine
// only adds, so the upper bound is what `reference` (a kscope sampling every
// 100 ms) saw over windows of 3 to 7 samples, with room for misalignment.
// Returns the last screen, taken while the workload ran.
std::string expect_top_sees_workload(Tmux& tmux, int reference) {
  constexpr double kOpens = 2000;
  OpenCounts node(reference, 0.1);
  Workload w(kOpens);
  std::string screen;
  for (auto wait : {std::chrono::milliseconds(2000), std::chrono::milliseconds(700)}) {
    node.record_for(wait);  // refreshes at 2 s and 2.7 s: inside the 3 s
    screen = tmux.capture();
    double rate = open_rate("\n" + screen);
    EXPECT_GE(rate, 0.9 * kOpens) << screen;
    EXPECT_LE(rate, 1.25 * node.max_rate(3, 7)) << screen;
  }
  EXPECT_NE(screen.find("CGROUP"), std::string::npos) << screen;
  return screen;
}

// A terminal's text as a PNG, drawn by Chromium: for docs/.
void render_terminal(const std::string& screen, const std::string& png) {
  std::string page = write_temp(
      "<!DOCTYPE html><meta charset=utf-8><body style='margin:0;background:#1e1e1e'>"
      "<pre style='margin:0;padding:12px;color:#e8e8e8;font:14px/1.3 \"DejaVu Sans Mono\","
      "monospace'>" +
          html_escape(screen) + "</pre>",
      ".html");
  Chromium browser;
  ASSERT_TRUE(browser.ok()) << browser.log();
  browser.open("file://" + page, 1040, 760);
  for (int i = 0; i < 50 && browser.eval("document.readyState") != "complete"; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(browser.screenshot(png));
  unlink(page.c_str());
}

bool wait_for(Tmux& tmux, const std::string& text, std::chrono::seconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (tmux.capture().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

TEST(Top, ReadsARunningKscopeAndQuitsOnQ) {
  KSCOPE_REQUIRE_BPF();
  Kscope k("sample_interval: 100ms\n");
  ASSERT_NE(k.port(), 0) << k.log();
  Tmux tmux;
  ASSERT_TRUE(
      tmux.start(kBinary + " top --url " + k.url("/metrics") + " --interval 500ms", 120, 40));
  ASSERT_TRUE(wait_for(tmux, "fd_open_calls_total", std::chrono::seconds(10))) << tmux.capture();
  std::string screen = expect_top_sees_workload(tmux, k.port());
  std::ofstream(kBuildDir + "/top.txt") << screen;
  if (getenv("UPDATE_SCREENSHOTS")) {
    publish("top.txt");
    render_terminal(screen, kBuildDir + "/top.png");
    publish("top.png");
  }
  tmux.keys("q");
  EXPECT_EQ(tmux.exit_status(), 0);
}

TEST(Top, LoadsTheProbesItselfWithoutUrl) {
  KSCOPE_REQUIRE_BPF();
  Kscope reference("sample_interval: 100ms\n");  // for the upper bound only
  ASSERT_NE(reference.port(), 0) << reference.log();
  Tmux tmux;
  ASSERT_TRUE(tmux.start(kBinary + " top --interval 500ms", 120, 40));
  ASSERT_TRUE(wait_for(tmux, "fd_open_calls_total", std::chrono::seconds(15))) << tmux.capture();
  expect_top_sees_workload(tmux, reference.port());
  EXPECT_NE(tmux.capture().find("probes: fd up process up vfs up"), std::string::npos)
      << tmux.capture();
  tmux.keys("q");
  EXPECT_EQ(tmux.exit_status(), 0);
}

TEST(Top, NarrowAndDumbTerminals) {
  Kscope k;
  ASSERT_NE(k.port(), 0) << k.log();
  Tmux narrow;
  ASSERT_TRUE(
      narrow.start(kBinary + " top --url " + k.url("/metrics") + " --interval 300ms", 36, 15));
  EXPECT_TRUE(wait_for(narrow, "fd_open_calls_total", std::chrono::seconds(10)))
      << narrow.capture();
  narrow.keys("q");
  EXPECT_EQ(narrow.exit_status(), 0);

  Tmux dumb;  // plain tables on a terminal; "q" and Enter quit
  ASSERT_TRUE(dumb.start(
      "TERM=dumb " + kBinary + " top --url " + k.url("/metrics") + " --interval 300ms", 120, 40));
  EXPECT_TRUE(wait_for(dumb, "PER SECOND", std::chrono::seconds(10))) << dumb.capture();
  EXPECT_EQ(dumb.capture().find("(q: quit"), std::string::npos) << "not the interactive view";
  dumb.keys("q");
  dumb.keys("Enter");
  EXPECT_EQ(dumb.exit_status(), 0);
}

TEST(Top, PrintsPlainTablesIntoAPipe) {
  Kscope k;
  ASSERT_NE(k.port(), 0) << k.log();
  auto [status, out] =
      run({"/bin/sh", "-c",
           kBinary + " top --url " + k.url("/metrics") + " --interval 300ms | head -n 40"});
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 40) << out;
  EXPECT_NE(out.find("kscope top - " + k.url("/metrics")), std::string::npos) << out;
  EXPECT_NE(out.find("\nsamples_total "), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "terminal escapes in a pipe";
}

TEST(Top, RejectsWhatItCannotUse) {
  for (auto [args, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--url https://127.0.0.1:9822/metrics", "--web.config.file support"},
           {"--url http://user:pw@127.0.0.1:9822/metrics", "basic auth"},
           {"--interval 5ms", "--interval"},
           {"--nope", "unknown flag"}}) {
    auto [status, out] = run({"/bin/sh", "-c", kBinary + " top " + args + " </dev/null"});
    EXPECT_EQ(status, 2) << args << ": " << out;
    EXPECT_NE(out.find(expected), std::string::npos) << out;
  }
  auto [status, out] =
      run({"/bin/sh", "-c", kBinary + " top --url http://127.0.0.1:1/metrics </dev/null"});
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("Connection refused"), std::string::npos) << out;
}

}  // namespace
}  // namespace kscope::test
