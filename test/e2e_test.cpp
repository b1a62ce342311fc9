// The real kscope binary, end to end: flags and config errors, scrapes over
// loopback, a known workload seen in the deltas, promtool, a real Prometheus.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "bpf_test_util.h"
#include "cgroup/metadata.h"
#include "auth_util.h"
#include "e2e_util.h"

namespace kscope::test {
namespace {

const std::string kBinary = KSCOPE_BINARY;
const std::string kFixtures = KSCOPE_FIXTURES;

TEST(Cli, VersionAndHelpExitZero) {
  auto [vs, vout] = run({kBinary, "--version"});
  EXPECT_EQ(vs, 0);
  EXPECT_NE(vout.find("kscope version 0."), std::string::npos) << vout;
  auto [hs, hout] = run({kBinary, "--help"});
  EXPECT_EQ(hs, 0);
  for (const char* flag : {"--web.listen-address", "--web.telemetry-path", "--config.file",
                           "--web.config.file", "--log.level", "--version"})
    EXPECT_NE(hout.find(flag), std::string::npos) << flag;
}

struct BadInput {
  std::vector<std::string> args;
  std::string expected;  // in the one error line
};

void PrintTo(const BadInput& b, std::ostream* os) {
  for (const auto& a : b.args) *os << a << ' ';
}

class CliRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliRejects, WithOneLineAndExitCode2) {
  std::vector<std::string> argv{kBinary};
  for (const auto& a : GetParam().args) argv.push_back(a);
  auto [status, out] = run(argv);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find(GetParam().expected), std::string::npos) << out;
  EXPECT_EQ(out.find("level=info"), std::string::npos) << "started before rejecting: " << out;
}

INSTANTIATE_TEST_SUITE_P(
    BadFlagsAndConfigs, CliRejects,
    ::testing::Values(
        BadInput{{"--nope"}, "unknown flag --nope"}, BadInput{{"--log.level=loud"}, "--log.level"},
        BadInput{{"--web.listen-address=abc"}, "--web.listen-address"},
        BadInput{{"--web.telemetry-path=metrics"}, "--web.telemetry-path"},
        BadInput{{"--web.config.file=/nonexistent/web.yml"}, "cannot read web config file"},
        BadInput{{"--web.config.file=" + kFixtures + "/web_bad_hash.yml"},
                 "web_bad_hash.yml:2: basic_auth_users.prom: expected a bcrypt hash"},
        BadInput{{"--config.file=/nonexistent/kscope.yml"}, "No such file or directory"},
        BadInput{{"--config.file=" + kFixtures + "/bad_unknown_key.yaml"}, "unknown key"},
        BadInput{{"--config.file=" + kFixtures + "/bad_mode.yaml"}, "mode"}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

class Running : public ::testing::Test {
 protected:
  void start(const std::string& config) {
    config_ = write_temp(config);
    kscope_ = std::make_unique<Child>(std::vector<std::string>{
        kBinary, "--web.listen-address=127.0.0.1:0", "--config.file=" + config_});
    auto p = kscope_->port();
    ASSERT_TRUE(p) << kscope_->log();
    port_ = *p;
    before_ = scrape_after_samples(port_, 0, 1);
  }
  std::map<std::string, double> settle() {
    return scrape_after_samples(
        port_, parse_metrics(http_get(port_, "/metrics").body)["kscope_samples_total"], 2);
  }
  void TearDown() override {
    if (kscope_) {
      EXPECT_EQ(kscope_->stop(), 0) << kscope_->log();
    }
    unlink(config_.c_str());
  }
  // known <= delta: the rest of the machine adds its own events (a build or
  // benchmark alongside adds thousands), so the node-wide check is a lower
  // bound and the workload's own cgroup series carry the exact check.
  void expect_delta(const std::map<std::string, double>& after, const std::string& name,
                    double known) {
    ASSERT_TRUE(has_series(after, name)) << name << " missing";
    EXPECT_GE(total(after, name) - total(before_, name), known) << name;
  }

  std::string config_;
  std::unique_ptr<Child> kscope_;
  int port_ = 0;
  std::map<std::string, double> before_;
};

// The workload runs in a cgroup of its own: node totals must rise by at
// least the known counts (within what the rest of the machine did), and the
// workload's cgroup series by exactly them.
TEST_F(Running, WorkloadWithKnownCountsShowsInEveryCounter) {
  KSCOPE_REQUIRE_BPF();
  auto mount = cgroup2_mount();
  if (!mount) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
  TestCgroup test_cgroup(*mount, "/kscope-e2e-" + std::to_string(getpid()));
  const std::string& cgroup = test_cgroup.path;
  ASSERT_NO_FATAL_FAILURE(start("sample_interval: 100ms\n"));

  constexpr int kOpens = 3000, kFailingOpens = 500, kReads = 2000, kSize = 3000, kWrites = 1500,
                kUnlinks = 60, kForks = 40, kThreads = 40;
  pid_t worker = fork();
  if (worker == 0) {
    // Into the cgroup: the open is outside, the write and close inside.
    int procs = open((*mount + cgroup + "/cgroup.procs").c_str(), O_WRONLY);
    if (procs < 0 || write(procs, "0", 1) != 1) _exit(2);
    close(procs);
    for (int i = 0; i < kOpens; i++) close(open("/dev/null", O_RDONLY));
    for (int i = 0; i < kFailingOpens; i++)
      if (open("/nonexistent/kscope", O_RDONLY) >= 0) _exit(3);
    std::vector<char> buf(kSize);
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
    for (int i = 0; i < kReads; i++)
      if (read(zero, buf.data(), kSize) != kSize) _exit(4);
    for (int i = 0; i < kWrites; i++)
      if (write(null, buf.data(), 100) != 100) _exit(5);
    close(zero);
    close(null);
    char dir[] = "/tmp/kscope-e2e-XXXXXX";
    if (!mkdtemp(dir)) _exit(6);
    for (int i = 0; i < kUnlinks; i++) {
      std::string f = std::string(dir) + "/" + std::to_string(i);
      close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
      if (unlink(f.c_str()) != 0) _exit(7);
    }
    rmdir(dir);
    for (int i = 0; i < kForks; i++) {
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      waitpid(pid, nullptr, 0);
    }
    for (int i = 0; i < kThreads; i++) std::thread([] {}).join();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto after = settle();

  const std::string in_cgroup = "{cgroup=\"" + cgroup + "\"}";
  auto expect = [&](const std::string& name, double known) {
    expect_delta(after, name, known);  // node-wide
    EXPECT_EQ(after[name + in_cgroup], known) << name << in_cgroup;
  };
  expect("kscope_fd_open_calls_total", kOpens + kFailingOpens + kUnlinks + 2);
  expect("kscope_fd_open_errors_total", kFailingOpens);
  expect("kscope_fd_close_calls_total", kOpens + kUnlinks + 2 + 1);
  expect("kscope_vfs_read_calls_total", kReads);
  expect("kscope_vfs_write_calls_total", kWrites + 1);
  expect("kscope_vfs_unlink_calls_total", kUnlinks + 1);
  expect("kscope_process_created_total", kForks);
  expect("kscope_thread_created_total", kThreads);
  expect("kscope_task_exits_total", kForks + kThreads + 1);
  // Bytes: other processes' reads are kilobytes each, so the node-wide
  // check is a lower bound; the cgroup's is exact.
  for (auto [name, known] :
       {std::pair<std::string, double>{"kscope_vfs_read_bytes_total", double(kReads) * kSize},
        {"kscope_vfs_write_bytes_total", kWrites * 100.0 + 1}}) {
    EXPECT_GE(total(after, name) - total(before_, name), known) << name;
    EXPECT_EQ(after[name + in_cgroup], known) << name;
  }
  // 3000-byte reads land in le="4096", none of them in le="2048".
  const std::string bucket = "kscope_vfs_read_size_bytes_bucket{cgroup=\"" + cgroup + "\",le=";
  EXPECT_EQ(after[bucket + "\"2048\"}"], 0);
  EXPECT_EQ(after[bucket + "\"4096\"}"], kReads);
  auto info = "kscope_cgroup_info{cgroup=\"" + cgroup + "\"}";
  EXPECT_EQ(after[info], 1) << info;
}

// The zombies' own cgroup holds exactly them (other processes on the machine
// may hold zombies of their own for a moment: the node total is a lower bound).
TEST_F(Running, ZombiesRiseByExactlyZAndFallAfterReaping) {
  KSCOPE_REQUIRE_BPF();
  auto mount = cgroup2_mount();
  if (!mount) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
  TestCgroup test_cgroup(*mount, "/kscope-e2e-zombies-" + std::to_string(getpid()));
  const std::string& cgroup = test_cgroup.path;
  ASSERT_NO_FATAL_FAILURE(start("sample_interval: 100ms\n"));
  constexpr int kZombies = 5;
  std::vector<pid_t> kids;
  for (int i = 0; i < kZombies; i++) {
    pid_t pid = fork();
    if (pid == 0) {  // into the cgroup, then exit unreaped
      int procs = open((*mount + cgroup + "/cgroup.procs").c_str(), O_WRONLY);
      _exit(procs >= 0 && write(procs, "0", 1) == 1 ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {  // exited, not reaped
    siginfo_t si{};
    ASSERT_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
    ASSERT_EQ(si.si_status, 0);
  }
  const std::string series = "kscope_process_zombies{cgroup=\"" + cgroup + "\"}";
  auto with = settle();
  EXPECT_EQ(with[series], kZombies);
  EXPECT_GE(total(with, "kscope_process_zombies"), kZombies);
  for (pid_t pid : kids) waitpid(pid, nullptr, 0);
  auto without = settle();
  EXPECT_EQ(without[series], 0);
}

TEST_F(Running, EntryModeExposesNoErrorsBytesOrSizes) {
  KSCOPE_REQUIRE_BPF();
  ASSERT_NO_FATAL_FAILURE(start("sample_interval: 100ms\nmode: entry\n"));
  for (int i = 0; i < 500; i++) close(open("/dev/null", O_RDONLY));
  auto after = settle();
  expect_delta(after, "kscope_fd_open_calls_total", 500);
  for (const auto& [name, _] : after) {
    if (!name.starts_with("kscope_")) continue;
    EXPECT_EQ(name.find("_errors_total"), std::string::npos) << name;
    EXPECT_EQ(name.find("_bytes_total"), std::string::npos) << name;
    EXPECT_EQ(name.find("_size_bytes"), std::string::npos) << name;
  }
  EXPECT_EQ(after["kscope_probe_attach_info{attach=\"tracepoint\",probe=\"fd\"}"], 1);
}

TEST_F(Running, AttributionNoneGivesNodeTotalsWithoutLabels) {
  KSCOPE_REQUIRE_BPF();
  ASSERT_NO_FATAL_FAILURE(start("sample_interval: 100ms\nattribution: none\n"));
  for (int i = 0; i < 300; i++) close(open("/dev/null", O_RDONLY));
  auto after = settle();
  ASSERT_TRUE(after.count("kscope_fd_open_calls_total"));
  EXPECT_GE(after["kscope_fd_open_calls_total"] - before_["kscope_fd_open_calls_total"], 300);
  // No cgroup label and no kscope_cgroup_* family (kscope_bpf_map_bytes
  // still names each probe's one-entry cgroup_stats map).
  for (const auto& [name, _] : after) {
    EXPECT_EQ(name.find("cgroup=\""), std::string::npos) << name;
    EXPECT_FALSE(name.starts_with("kscope_cgroup")) << name;
  }
}

// Without a cgroup2 mount (here: unmounted in a private mount namespace),
// attribution turns itself off with one line and the rest runs.
TEST(NoCgroup2, AttributionOffWithOneLine) {
  KSCOPE_REQUIRE_BPF();
  auto mount = cgroup2_mount();
  if (!mount) GTEST_SKIP() << "no cgroup2 mount to take away";
  Child k({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
           "umount -l " + *mount + " && exec " + kBinary + " --web.listen-address=127.0.0.1:0"});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  auto m = scrape_after_samples(*port, 0, 1);
  EXPECT_NE(k.log().find("no cgroup2 mount"), std::string::npos) << k.log();
  EXPECT_EQ(m["kscope_probe_up{probe=\"fd\"}"], 1) << k.log();
  EXPECT_TRUE(m.count("kscope_fd_open_calls_total")) << "node totals, unlabeled";
  EXPECT_EQ(k.stop(), 0);
}

TEST_F(Running, ServesLandingPageSelfMetricsAndPromtoolCleanOutput) {
  KSCOPE_REQUIRE_BPF();
  ASSERT_NO_FATAL_FAILURE(start("modules:\n  vfs: {enabled: false}\n"));
  auto landing = http_get(port_, "/");
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.body.find("href=\"/metrics\""), std::string::npos);
  EXPECT_EQ(http_get(port_, "/nope").status, 404);
  EXPECT_EQ(http_get(port_, "/", "POST").status, 405);

  auto scrape = http_get(port_, "/metrics");
  ASSERT_EQ(scrape.status, 200);
  auto m = parse_metrics(scrape.body);
  EXPECT_EQ(m["kscope_probe_up{probe=\"fd\"}"], 1);
  EXPECT_EQ(m["kscope_probe_up{probe=\"process\"}"], 1);
  EXPECT_FALSE(m.count("kscope_probe_up{probe=\"vfs\"}")) << "disabled module reported";
  EXPECT_FALSE(has_series(m, "kscope_vfs_read_calls_total"));
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "process_start_time_seconds", "kscope_sample_duration_seconds_count"})
    EXPECT_TRUE(has_series(m, name)) << name;
  bool build_info = false;
  for (const auto& [k, v] : m) build_info = build_info || k.starts_with("kscope_build_info{");
  EXPECT_TRUE(build_info);

  std::string path = write_temp(scrape.body, ".txt");
  auto [status, out] = run({"/bin/sh", "-c", "promtool check metrics < " + path});
  unlink(path.c_str());
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "") << "promtool findings";
}

TEST(Signals, SigintDetachesAndExitsZero) {
  KSCOPE_REQUIRE_BPF();
  Child k({kBinary, "--web.listen-address=127.0.0.1:0"});
  ASSERT_TRUE(k.port()) << k.log();
  EXPECT_EQ(k.stop(SIGINT), 0) << k.log();
  EXPECT_NE(k.log().find("detaching probes"), std::string::npos) << k.log();
}

}  // namespace
}  // namespace kscope::test

namespace kscope::test {
namespace {

// The first sample value in a Prometheus instant-query answer, or -1.
double query_value(int port, const std::string& query) {
  auto r = http_get(port, "/api/v1/query?query=" + query);
  auto at = r.body.find("\"value\":[");
  if (r.status != 200 || at == std::string::npos) return -1;
  auto q = r.body.find(",\"", at);
  return q == std::string::npos ? -1 : std::stod(r.body.substr(q + 2));
}

TEST(Prometheus, ScrapesKscopeAndSeesCountersIncrease) {
  KSCOPE_REQUIRE_BPF();
  if (access("/usr/bin/prometheus", X_OK) != 0)
    GTEST_SKIP() << "Debian's prometheus package is not installed (apt-get install prometheus)";
  Child kscope({kBinary, "--web.listen-address=127.0.0.1:0"});
  auto kport = kscope.port();
  ASSERT_TRUE(kport) << kscope.log();

  char dir[] = "/tmp/kscope-prom-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string config = std::string(dir) + "/prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
                           "  - job_name: kscope\n    static_configs:\n"
                           "      - targets: ['127.0.0.1:"
                        << *kport << "']\n";
  int pport = free_port();
  Child prom({"/usr/bin/prometheus", "--config.file=" + config,
              "--storage.tsdb.path=" + std::string(dir) + "/data",
              "--web.listen-address=127.0.0.1:" + std::to_string(pport)});

  // up == 1, then the open counter moves between two scrapes.
  double up = -1, first = -1, later = -1;
  for (int i = 0; i < 300 && (up != 1 || first < 0 || later <= first); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    close(open("/dev/null", O_RDONLY));
    up = query_value(pport, "up%7Bjob%3D%22kscope%22%7D");
    double v = query_value(pport, "kscope_fd_open_calls_total");
    if (v >= 0 && first < 0) first = v;
    if (first >= 0) later = v;
  }
  EXPECT_EQ(up, 1) << prom.log();
  EXPECT_GE(first, 0);
  EXPECT_GT(later, first) << "the counter did not increase in Prometheus";
  EXPECT_EQ(prom.stop(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kscope::test

namespace kscope::test {
namespace {

// On a fresh machine tracefs is not mounted: kscope mounts it and says so.
TEST(Tracefs, MountedWhenAbsent) {
  KSCOPE_REQUIRE_BPF();
  if (access("/sys/kernel/tracing/events", F_OK) == 0) {
    auto [st, out] = run({"/bin/umount", "/sys/kernel/tracing"});
    ASSERT_EQ(st, 0) << "cannot unmount tracefs to test its absence: " << out;
  }
  ASSERT_NE(access("/sys/kernel/tracing/events", F_OK), 0);
  Child k({kBinary, "--web.listen-address=127.0.0.1:0", "--log.level=debug"});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  auto m = scrape_after_samples(*port, 0, 1);
  EXPECT_EQ(m["kscope_probe_up{probe=\"fd\"}"], 1) << k.log();
  EXPECT_NE(k.log().find("mounted tracefs at /sys/kernel/tracing"), std::string::npos) << k.log();
  EXPECT_EQ(k.stop(), 0);
}

}  // namespace
}  // namespace kscope::test

namespace kscope::test {
namespace {

// The exposed families (name, TYPE, HELP) are a contract with dashboards and
// alert rules: compare them with test/fixtures/metrics_<mode>.txt.
// UPDATE=1 rewrites the fixture.
class Contract : public Running, public ::testing::WithParamInterface<std::string> {};

TEST_P(Contract, FamiliesMatchTheFixture) {
  KSCOPE_REQUIRE_BPF();
  ASSERT_NO_FATAL_FAILURE(start("sample_interval: 100ms\nmode: " + GetParam() + "\n"));
  std::istringstream in(http_get(port_, "/metrics").body);
  std::string got;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("# HELP kscope_") || line.starts_with("# TYPE kscope_") ||
        line.starts_with("# HELP process_") || line.starts_with("# TYPE process_"))
      got += line + "\n";
  std::string path = kFixtures + "/metrics_" + GetParam() + ".txt";
  if (getenv("UPDATE")) std::ofstream(path) << got;
  std::ifstream f(path);
  std::string want((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(got, want) << "exposed families changed; if on purpose: UPDATE=1 ctest -R Contract";
}

INSTANTIATE_TEST_SUITE_P(Modes, Contract, ::testing::Values("return", "entry"));

}  // namespace
}  // namespace kscope::test

namespace kscope::test {
namespace {

// Prometheus' up{job="kscope"} once it reads 1, or the last value read
// within 20 s (-1: none).
double prometheus_up(int pport) {
  double up = -1;
  for (int i = 0; i < 200 && up != 1; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    up = query_value(pport, "up%7Bjob%3D%22kscope%22%7D");
  }
  return up;
}

// --web.config.file with basic_auth_users: every path needs the password,
// and a real Prometheus scrapes with it.
TEST(WebConfig, BasicAuthGuardsEveryPathAndPrometheusScrapesWithIt) {
  KSCOPE_REQUIRE_BPF();
  std::string web = write_temp("basic_auth_users:\n  prom: '" + bcrypt_hash("pa55") + "'\n");
  Child k({kBinary, "--web.listen-address=127.0.0.1:0", "--web.config.file=" + web});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  const std::string good = basic_auth_header("prom:pa55"), bad = basic_auth_header("prom:nope");
  EXPECT_EQ(http_get(*port, "/metrics").status, 401);
  EXPECT_EQ(http_get(*port, "/metrics", "GET", bad).status, 401);
  EXPECT_EQ(http_get(*port, "/", "GET").status, 401);
  EXPECT_EQ(http_get(*port, "/api/status", "GET").status, 401);
  auto ok = http_get(*port, "/metrics", "GET", good);
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("kscope_build_info"), std::string::npos);
  EXPECT_EQ(http_get(*port, "/", "GET", good).status, 200);

  if (access("/usr/bin/prometheus", X_OK) != 0)
    GTEST_SKIP() << "Debian's prometheus package is not installed (apt-get install prometheus)";
  char dir[] = "/tmp/kscope-prom-auth-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string config = std::string(dir) + "/prometheus.yml";
  std::ofstream(config)
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
         "  - job_name: kscope\n    basic_auth: {username: prom, password: pa55}\n"
         "    static_configs:\n      - targets: ['127.0.0.1:"
      << *port << "']\n";
  int pport = free_port();
  Child prom({"/usr/bin/prometheus", "--config.file=" + config,
              "--storage.tsdb.path=" + std::string(dir) + "/data",
              "--web.listen-address=127.0.0.1:" + std::to_string(pport)});
  EXPECT_EQ(prometheus_up(pport), 1) << prom.log();
  EXPECT_EQ(prom.stop(), 0);
  EXPECT_EQ(k.stop(), 0);
  std::filesystem::remove_all(dir);
  unlink(web.c_str());
}

// TLS through civetweb: Debian 12's civetweb 1.15 with OpenSSL 3, through
// kscope's shim (exporter/tls/). Over https with the password: 200; without
// it: 401; plain HTTP on the TLS port: no HTTP answer at all; and a real
// Prometheus scrapes it over TLS, checking the certificate, with basic auth.
TEST(WebConfig, TlsWithBasicAuthServesPrometheusAndRefusesPlainHttp) {
  KSCOPE_REQUIRE_BPF();
  char tmp[] = "/tmp/kscope-tls-XXXXXX";
  ASSERT_NE(mkdtemp(tmp), nullptr);
  const std::string dir = tmp, cert = dir + "/cert.pem";
  auto [gen, gen_out] = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                             "-keyout", dir + "/key.pem", "-out", cert, "-days", "1", "-subj",
                             "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(gen, 0) << gen_out;
  std::ofstream(dir + "/web.yml") << "tls_server_config:\n  cert_file: cert.pem\n"
                                     "  key_file: key.pem\nbasic_auth_users:\n  prom: '"
                                  << bcrypt_hash("pa55") << "'\n";
  Child k({kBinary, "--web.listen-address=127.0.0.1:0", "--web.config.file=" + dir + "/web.yml"});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  const std::string url = "https://127.0.0.1:" + std::to_string(*port) + "/metrics";
  auto curl = [&](const std::string& user) {
    return run({"/usr/bin/curl", "-sS", "--cacert", cert, "-u", user, "-w", "\n%{http_code}", url});
  };
  auto [ok_status, ok_out] = curl("prom:pa55");
  EXPECT_EQ(ok_status, 0) << ok_out;
  EXPECT_TRUE(ok_out.ends_with("\n200")) << ok_out.substr(0, 300);
  EXPECT_NE(ok_out.find("kscope_build_info"), std::string::npos);
  auto [bad_status, bad_out] = curl("prom:nope");
  EXPECT_TRUE(bad_out.ends_with("\n401")) << bad_out;
  HttpResponse plain = http_get(*port, "/metrics", "GET", basic_auth_header("prom:pa55"));
  EXPECT_EQ(plain.status, 0) << "plain HTTP on the TLS port was answered: " << plain.headers;

  if (access("/usr/bin/prometheus", X_OK) != 0)
    GTEST_SKIP() << "Debian's prometheus package is not installed (apt-get install prometheus)";
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
         "  - job_name: kscope\n    scheme: https\n    tls_config: {ca_file: "
      << cert
      << "}\n    basic_auth: {username: prom, password: pa55}\n"
         "    static_configs:\n      - targets: ['127.0.0.1:"
      << *port << "']\n";
  int pport = free_port();
  Child prom({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
              "--storage.tsdb.path=" + dir + "/data",
              "--web.listen-address=127.0.0.1:" + std::to_string(pport)});
  EXPECT_EQ(prometheus_up(pport), 1) << prom.log();
  EXPECT_EQ(prom.stop(), 0);
  EXPECT_EQ(k.stop(), 0) << k.log();
  std::filesystem::remove_all(dir);
}

// A kernel without BTF (btf_path at a missing file): fd and vfs still run
// and count, process is down with the reason in one log line.
TEST(NoBtf, FdAndVfsRunProcessIsDownWithTheReason) {
  KSCOPE_REQUIRE_BPF();
  std::string config = std::filesystem::temp_directory_path() /
                       ("kscope-nobtf-" + std::to_string(getpid()) + ".yml");
  std::ofstream(config) << "btf_path: /nonexistent/kscope/vmlinux\nattribution: none\n";
  Child k({kBinary, "--web.listen-address=127.0.0.1:0", "--config.file=" + config});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  auto before = scrape_after_samples(*port, 0, 1);
  for (int i = 0; i < 200; i++) close(open("/dev/null", O_RDONLY));
  auto after = scrape_after_samples(*port, before["kscope_samples_total"], 1);
  EXPECT_EQ(after["kscope_probe_up{probe=\"fd\"}"], 1) << k.log();
  EXPECT_EQ(after["kscope_probe_up{probe=\"vfs\"}"], 1) << k.log();
  EXPECT_EQ(after["kscope_probe_up{probe=\"process\"}"], 0) << k.log();
  EXPECT_GE(after["kscope_fd_open_calls_total"] - before["kscope_fd_open_calls_total"], 200);
  EXPECT_NE(k.log().find("process: no attach family works: fentry: needs kernel BTF, which "
                         "/nonexistent/kscope/vmlinux should hold: No such file or directory"),
            std::string::npos)
      << k.log();
  EXPECT_EQ(k.stop(), 0);
  std::filesystem::remove(config);
}

}  // namespace
}  // namespace kscope::test
