// The kscope binary through crashes, restarts and company: kill -9 leaves
// nothing in the kernel, a restart attaches at once, a busy port is one
// line, two instances both count exactly, SIGTERM during scrapes exits 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "bpf_test_util.h"
#include "e2e_util.h"

namespace kscope::test {
namespace {

using std::chrono::steady_clock;

const std::string kBinary = KSCOPE_BINARY;
const std::vector<std::string> kModules{"fd", "process", "vfs"};

double ms_since(steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - t).count();
}

bool every_probe_up(const std::map<std::string, double>& m) {
  for (const auto& p : kModules) {
    auto it = m.find("kscope_probe_up{probe=\"" + p + "\"}");
    if (it == m.end() || it->second != 1) return false;
  }
  return true;
}

// kscope on a loopback port of its own, sampling every 100ms.
struct Kscope {
  Kscope(const std::string& listen = "127.0.0.1:0")
      : config(write_temp("sample_interval: 100ms\n")),
        child({kBinary, "--web.listen-address=" + listen, "--config.file=" + config}) {}
  ~Kscope() { unlink(config.c_str()); }
  // The port, once every probe is attached; 0 when it did not get there.
  int wait_attached() {
    auto p = child.port();
    if (!p) return 0;
    for (int i = 0; i < 1000; i++) {
      if (every_probe_up(parse_metrics(http_get(*p, "/metrics").body))) return *p;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }
  std::string config;
  Child child;
};

// The ids of the BPF programs, maps and links a process holds, from the
// fdinfo of its descriptors (bpftool of Debian 12 does not list owners).
struct BpfIds {
  std::set<uint32_t> progs, maps, links;
};

BpfIds bpf_ids_of(pid_t pid) {
  BpfIds ids;
  std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(entry.path());
    bool link = false;
    std::optional<uint32_t> prog;
    for (std::string line; std::getline(f, line);) {
      auto value = [&] {
        return static_cast<uint32_t>(std::stoul(line.substr(line.find(':') + 1)));
      };
      if (line.starts_with("link_id:")) {
        ids.links.insert(value());
        link = true;
      } else if (line.starts_with("prog_id:")) {
        prog = value();
      } else if (line.starts_with("map_id:")) {
        ids.maps.insert(value());
      }
    }
    if (prog && !link) ids.progs.insert(*prog);
  }
  return ids;
}

// The ids `bpftool <object> show` lists now ("<id>: <type> ...").
std::set<uint32_t> bpftool_ids(const std::string& object) {
  auto [status, out] = run({"/usr/sbin/bpftool", object, "show"});
  EXPECT_EQ(status, 0) << out;
  std::set<uint32_t> ids;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || line.find_first_not_of("0123456789") != colon)
      continue;
    ids.insert(static_cast<uint32_t>(std::stoul(line.substr(0, colon))));
  }
  return ids;
}

// A 200 whose body is as long as its Content-Length says.
bool whole_200(const std::string& headers, const std::string& body) {
  auto at = headers.find("Content-Length: ");
  return headers.find(" 200 ") == 8 && at != std::string::npos &&
         std::stoul(headers.substr(at + 16)) == body.size();
}

std::set<uint32_t> still_there(const std::set<uint32_t>& owned, const std::set<uint32_t>& listed) {
  std::set<uint32_t> both;
  for (uint32_t id : owned)
    if (listed.count(id)) both.insert(id);
  return both;
}

TEST(Lifecycle, KillNineLeavesNothingAttachedAndARestartAttachesAtOnce) {
  KSCOPE_REQUIRE_BPF();
  ASSERT_EQ(access("/usr/sbin/bpftool", X_OK), 0) << "bpftool missing (apt-get install bpftool)";
  BpfIds owned;
  {
    Kscope k;
    ASSERT_NE(k.wait_attached(), 0) << k.child.log();
    owned = bpf_ids_of(k.child.pid());
    // fd, vfs and process programs, their links and maps (and the cgroup
    // removal watch's).
    ASSERT_GE(owned.progs.size(), 3u);
    ASSERT_GE(owned.links.size(), 3u);
    ASSERT_GE(owned.maps.size(), 3u);
    EXPECT_EQ(still_there(owned.progs, bpftool_ids("prog")).size(), owned.progs.size());
    EXPECT_EQ(still_there(owned.links, bpftool_ids("link")).size(), owned.links.size());
    ASSERT_EQ(kill(k.child.pid(), SIGKILL), 0);
    EXPECT_EQ(k.child.wait_exit(), -1) << "killed by a signal";
  }
  // The kernel detached everything when the process's descriptors closed;
  // programs and maps go once nothing holds them (an RCU grace period).
  auto killed = steady_clock::now();
  std::set<uint32_t> progs, maps, links;
  do {
    progs = still_there(owned.progs, bpftool_ids("prog"));
    maps = still_there(owned.maps, bpftool_ids("map"));
    links = still_there(owned.links, bpftool_ids("link"));
  } while ((!progs.empty() || !maps.empty() || !links.empty()) && ms_since(killed) < 5000);
  EXPECT_TRUE(links.empty()) << links.size() << " of kscope's links still attached";
  EXPECT_TRUE(progs.empty()) << progs.size() << " of kscope's programs still loaded";
  EXPECT_TRUE(maps.empty()) << maps.size() << " of kscope's maps still there";
  std::cout << "kill -9: " << owned.progs.size() << " programs, " << owned.links.size()
            << " links, " << owned.maps.size() << " maps gone from bpftool's lists "
            << ms_since(killed) << " ms after waitpid\n";

  // A restart attaches at once: nothing of the old instance is in the way.
  auto restarted = steady_clock::now();
  Kscope again;
  ASSERT_NE(again.wait_attached(), 0) << again.child.log();
  double attach_ms = ms_since(restarted);
  std::cout << "restart: every probe attached " << attach_ms << " ms after exec\n";
  EXPECT_LT(attach_ms, 5000);
  EXPECT_EQ(again.child.log().find("level=error"), std::string::npos) << again.child.log();
  EXPECT_EQ(again.child.stop(), 0) << again.child.log();
}

TEST(Lifecycle, SecondInstanceOnABusyPortFailsWithOneLine) {
  KSCOPE_REQUIRE_BPF();
  Kscope first;
  int port = first.wait_attached();
  ASSERT_NE(port, 0) << first.child.log();
  std::string listen = "127.0.0.1:" + std::to_string(port);
  auto started = steady_clock::now();
  auto [status, out] = run({kBinary, "--web.listen-address=" + listen});
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(status, -1) << "timed out or killed: " << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("cannot listen on " + listen), std::string::npos) << out;
  EXPECT_LT(ms_since(started), 5000);
  // It failed before loading anything; the first one is unharmed.
  EXPECT_TRUE(every_probe_up(parse_metrics(http_get(port, "/metrics").body)));
  EXPECT_EQ(first.child.stop(), 0) << first.child.log();
}

// N files created and removed in a cgroup of the test's own: both instances
// count exactly them there.
TEST(Lifecycle, TwoInstancesOnDifferentPortsBothCountExactly) {
  KSCOPE_REQUIRE_BPF();
  auto mount = cgroup2_mount();
  if (!mount) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
  TestCgroup cgroup(*mount, "/kscope-lifecycle-" + std::to_string(getpid()));
  Kscope a, b;
  int port_a = a.wait_attached(), port_b = b.wait_attached();
  ASSERT_NE(port_a, 0) << a.child.log();
  ASSERT_NE(port_b, 0) << b.child.log();
  ASSERT_NE(port_a, port_b);

  constexpr int kFiles = 1000;
  char dir[] = "/tmp/kscope-lifecycle-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  pid_t worker = fork();
  if (worker == 0) {
    // Into the cgroup: the open of cgroup.procs is outside, its close inside.
    int procs = open((cgroup.dir + "/cgroup.procs").c_str(), O_WRONLY);
    if (procs < 0 || write(procs, "0", 1) != 1) _exit(2);
    close(procs);
    for (int i = 0; i < kFiles; i++) {
      std::string f = std::string(dir) + "/" + std::to_string(i);
      int fd = open(f.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0600);
      if (fd < 0) _exit(3);
      close(fd);
      if (unlink(f.c_str()) != 0) _exit(4);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  rmdir(dir);

  const std::string in_cgroup = "{cgroup=\"" + cgroup.path + "\"}";
  for (auto* k : {&a, &b}) {
    int port = k == &a ? port_a : port_b;
    auto m = scrape_after_samples(
        port, parse_metrics(http_get(port, "/metrics").body)["kscope_samples_total"], 2);
    EXPECT_EQ(m["kscope_fd_open_calls_total" + in_cgroup], kFiles) << "port " << port;
    EXPECT_EQ(m["kscope_fd_close_calls_total" + in_cgroup], kFiles + 1) << "port " << port;
    EXPECT_EQ(m["kscope_vfs_unlink_calls_total" + in_cgroup], kFiles) << "port " << port;
  }
  EXPECT_EQ(a.child.stop(), 0) << a.child.log();
  EXPECT_EQ(b.child.stop(), 0) << b.child.log();
}

// civetweb polls its listening sockets every 2 s and stops only between
// polls: SIGTERM just after a scrape took 2.0 s. kscope wakes the poll with
// a request of its own; what is left is the kernel detaching the syscall
// tracepoints (about 1 s here). On every interface (":0"), so the wildcard
// address is reached through loopback.
TEST(Lifecycle, SigtermJustAfterAScrapeExitsZeroWithinTwoSeconds) {
  KSCOPE_REQUIRE_BPF();
  Kscope k(":0");
  int port = k.wait_attached();  // its last scrape is the one just before
  ASSERT_NE(port, 0) << k.child.log();
  ASSERT_EQ(http_get(port, "/metrics").status, 200);
  auto term = steady_clock::now();
  ASSERT_EQ(kill(k.child.pid(), SIGTERM), 0);
  int status = k.child.wait_exit(std::chrono::seconds(10));
  double exit_ms = ms_since(term);
  std::cout << "SIGTERM just after a scrape to exit: " << exit_ms << " ms\n";
  EXPECT_EQ(status, 0) << k.child.log();
  EXPECT_LT(exit_ms, 2000) << k.child.log();
}

// A scrape in flight when SIGTERM comes completes whole or is closed (or
// answered 503): never a cut 200, nor a 404 for the metrics path. A client that sent half a request
// is answered or closed, not left hanging. kscope exits 0 within 2 s.
TEST(Lifecycle, SigtermDuringScrapesExitsZeroWithinTwoSeconds) {
  KSCOPE_REQUIRE_BPF();
  Kscope k;
  int port = k.wait_attached();
  ASSERT_NE(port, 0) << k.child.log();

  std::atomic<bool> stop = false;
  std::atomic<int> whole = 0, refused = 0, cut = 0;
  std::mutex mu;
  std::vector<std::string> cuts;
  std::vector<std::jthread> scrapers;
  for (int t = 0; t < 3; t++)
    scrapers.emplace_back([&] {
      while (!stop) {
        HttpResponse r = http_get(port, "/metrics");
        if (r.status == 0 || r.status == 503) {
          refused++;  // closed, refused, or told to come back: Prometheus retries
        } else if (whole_200(r.headers, r.body)) {
          whole++;
        } else {
          cut++;
          std::lock_guard lock(mu);
          cuts.push_back(std::to_string(r.status) + " " + r.headers + " (" +
                         std::to_string(r.body.size()) + " bytes)");
        }
      }
    });
  // Half a request, on a connection of its own.
  int half = connect_loopback(port, 5);
  ASSERT_GE(half, 0);
  const std::string first = "GET /metrics HTTP/1.0\r\n";
  ASSERT_EQ(write(half, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // scrapes under way

  auto term = steady_clock::now();
  ASSERT_EQ(kill(k.child.pid(), SIGTERM), 0);
  const std::string rest = "Host: localhost\r\n\r\n";
  (void)!write(half, rest.data(), rest.size());  // may fail: closed already
  std::string answer;
  char buf[65536];
  ssize_t n;
  while ((n = read(half, buf, sizeof(buf))) > 0) answer.append(buf, static_cast<size_t>(n));
  int read_errno = n < 0 ? errno : 0;
  close(half);
  int status = k.child.wait_exit(std::chrono::seconds(10));
  double exit_ms = ms_since(term);
  stop = true;
  scrapers.clear();

  EXPECT_EQ(status, 0) << k.child.log();
  EXPECT_LT(exit_ms, 2000) << k.child.log();
  std::cout << "SIGTERM to exit: " << exit_ms << " ms; scrapes whole " << whole << ", refused "
            << refused << ", cut " << cut << "\n";
  EXPECT_GT(whole, 0);
  EXPECT_EQ(cut, 0) << "a scrape ended with a partial answer: " << (cuts.empty() ? "" : cuts[0]);
  EXPECT_NE(read_errno, EAGAIN) << "the half request was left hanging";
  // Answered (a 200 whole), or closed without a word.
  if (!answer.empty()) {
    auto end = answer.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << answer.substr(0, 200);
    EXPECT_NE(answer.find(" 404 "), 8u) << answer.substr(0, 200);
    if (answer.find(" 200 ") == 8) {
      EXPECT_TRUE(whole_200(answer.substr(0, end), answer.substr(end + 4)))
          << answer.substr(0, 200);
    }
  }
}

}  // namespace
}  // namespace kscope::test
