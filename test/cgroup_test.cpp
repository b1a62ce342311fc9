// Attribution with real BPF and real cgroups: workers move themselves into
// cgroups made under this host's cgroup2 mount, run known workloads, and
// each cgroup's series must show exactly them.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <bpf/bpf.h>
#include <linux/types.h>

#include "bpf/object.h"
#include "bpf_test_util.h"
#include "cgroup/attribution.h"
#include "cgroup/rmdir_watch.h"
#include "probes/cgroup_key.h"
#include "probes/fd.h"

namespace kscope {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> cgroup2_mount() {
  std::ifstream f("/proc/self/mountinfo");
  return find_cgroup2_mount(std::string((std::istreambuf_iterator<char>(f)), {}));
}

// A tree of cgroups under <mount>/kscope-test-<pid>, removed (deepest first)
// when the test ends, pass or fail.
class CgroupTree {
 public:
  explicit CgroupTree(const std::string& mount)
      : mount_(mount), top_("/kscope-test-" + std::to_string(getpid())) {
    fs::create_directories(mount_ + top_);
  }
  ~CgroupTree() {
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(mount_ + top_, ec))
      if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end(), [](auto& a, auto& b) { return a.string() > b.string(); });
    for (auto& d : dirs) rmdir(d.c_str());
    rmdir((mount_ + top_).c_str());
  }
  // Makes <top>/<rel> (and parents); returns the path relative to the mount.
  std::string make(const std::string& rel) {
    fs::create_directories(mount_ + top_ + "/" + rel);
    return top_ + "/" + rel;
  }
  void remove(const std::string& path) { ASSERT_EQ(rmdir((mount_ + path).c_str()), 0) << path; }
  const std::string& mount() const { return mount_; }

 private:
  std::string mount_, top_;
};

// Runs `work` in a child that first moves itself into `cgroup`.
void run_in(const CgroupTree& tree, const std::string& cgroup, const std::function<void()>& work) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open((tree.mount() + cgroup + "/cgroup.procs").c_str(), O_WRONLY);
    // The open happens outside; the write's exit (one 1-byte write) and the
    // close are counted inside.
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(3);
    close(fd);
    work();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker failed in " << cgroup;
}

void opens(int n) {
  for (int i = 0; i < n; i++) close(open("/dev/null", O_RDONLY));
}

// The fd, vfs and process probes with attribution, sampled as kscope does.
struct Attributed {
  // watch_removals: learn removals from the cgroup_rmdir tracepoint, as
  // kscope does; otherwise stat each cgroup the maps hold at every pass.
  Attributed(const std::string& mount, uint32_t max_series, uint32_t map_entries = 0,
             const std::string& pods_dir = "/nonexistent", bool watch_removals = false) {
    config = default_config(collector_names());
    attribution = std::make_unique<CgroupAttribution>(mount, max_series, pods_dir, registry);
    if (watch_removals) {
      watch = std::make_unique<RmdirWatch>();
      attribution->set_removal_source([w = watch.get()] { return w->drain(); });
    }
    start({"fd", "vfs", "process"}, map_entries);
  }
  // Only `modules`, attached with `family`, with CO-RE against btf_path.
  Attributed(const std::string& mount, const std::vector<std::string>& modules, Attach family,
             const std::string& btf_path) {
    config = default_config(collector_names());
    config.btf_path = btf_path;
    for (const auto& m : modules) config.modules[m].attach = family;
    attribution = std::make_unique<CgroupAttribution>(mount, 500, "/nonexistent", registry);
    start(modules, 0);
  }
  void start(const std::vector<std::string>& modules, uint32_t map_entries) {
    CollectorContext ctx{registry, config, 0, attribution.get(), map_entries};
    for (const auto& m : modules) {
      collectors.push_back(collector_factories().at(m)(ctx));
      collectors.back()->start();
    }
  }
  void sample() {
    attribution->begin_pass();
    for (auto& c : collectors) c->sample();
    attribution->end_pass();
  }
  void scrape() { attribution->Collect(); }
  // Value of `name` for cgroup=label (nullopt: no such series); for
  // histograms the cumulative count of bucket `le`.
  std::optional<double> value(const std::string& name, const std::string& label, double le = -1) {
    for (const auto& f : registry.Collect()) {
      if (f.name != name) continue;
      for (const auto& m : f.metric) {
        bool match = false;
        for (const auto& l : m.label) match = match || (l.name == "cgroup" && l.value == label);
        if (!match) continue;
        if (f.type == prometheus::MetricType::Counter) return m.counter.value;
        if (f.type == prometheus::MetricType::Gauge) return m.gauge.value;
        for (const auto& b : m.histogram.bucket)
          if (b.upper_bound == le) return static_cast<double>(b.cumulative_count);
      }
    }
    return std::nullopt;
  }
  std::map<std::string, double> by_label(const std::string& name) {
    std::map<std::string, double> out;
    for (const auto& f : registry.Collect())
      if (f.name == name)
        for (const auto& m : f.metric)
          for (const auto& l : m.label)
            if (l.name == "cgroup") out[l.value] = m.counter.value;
    return out;
  }
  std::optional<prometheus::ClientMetric> info(const std::string& label) {
    for (const auto& f : registry.Collect())
      if (f.name == "kscope_cgroup_info")
        for (const auto& m : f.metric)
          for (const auto& l : m.label)
            if (l.name == "cgroup" && l.value == label) return m;
    return std::nullopt;
  }

  prometheus::Registry registry;
  Config config;
  std::unique_ptr<RmdirWatch> watch;
  std::unique_ptr<CgroupAttribution> attribution;
  std::vector<std::unique_ptr<Collector>> collectors;
};

std::string label_value(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label)
    if (l.name == name) return l.value;
  return "<absent>";
}

class CgroupAttributionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KSCOPE_REQUIRE_BPF();
    auto m = cgroup2_mount();
    if (!m) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
    tree_.emplace(*m);
  }
  std::optional<CgroupTree> tree_;
};

TEST_F(CgroupAttributionTest, EachCgroupSeesExactlyItsWorkloadWithItsMetadata) {
  const std::string uid = "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b";
  std::string uid_ = uid;
  std::replace(uid_.begin(), uid_.end(), '-', '_');
  const std::string container(64, 'c');
  std::string service = tree_->make("system.slice/kscope-test.service");
  std::string pod = tree_->make("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                                uid_ + ".slice/cri-containerd-" + container + ".scope");
  char pods_dir[] = "/tmp/kscope-pods-XXXXXX";
  ASSERT_NE(mkdtemp(pods_dir), nullptr);
  fs::create_directory(std::string(pods_dir) + "/shop_cart-7d9f_" + uid);

  Attributed a(tree_->mount(), 500, 0, pods_dir);
  a.sample();
  constexpr int kSize = 3000;
  run_in(*tree_, service, [] {
    opens(100);
    std::vector<char> buf(kSize);
    int zero = open("/dev/zero", O_RDONLY);
    for (int i = 0; i < 50; i++)
      if (read(zero, buf.data(), kSize) != kSize) _exit(4);
    close(zero);
    for (int i = 0; i < 3; i++) {
      pid_t p = fork();
      if (p == 0) _exit(0);
      waitpid(p, nullptr, 0);
    }
  });
  // Zombies made in the pod's cgroup: its worker holds 4 unreaped children
  // while the probe samples, then reaps them.
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  std::thread pod_worker([&] {
    run_in(*tree_, pod, [&] {
      opens(200);
      for (int i = 0; i < 7; i++)
        if (open("/nonexistent/kscope", O_RDONLY) >= 0) _exit(5);
      std::vector<pid_t> kids;
      for (int i = 0; i < 4; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        kids.push_back(p);
      }
      for (pid_t p : kids) {
        siginfo_t si{};
        waitid(P_PID, p, &si, WEXITED | WNOWAIT);
      }
      char c = 1;
      if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) _exit(6);
      for (pid_t p : kids) waitpid(p, nullptr, 0);
    });
  });
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  a.sample();
  EXPECT_EQ(a.value("kscope_process_zombies", pod), 4);
  EXPECT_EQ(a.value("kscope_process_zombies", service).value_or(0), 0);
  ASSERT_EQ(write(go[1], &c, 1), 1);
  pod_worker.join();
  // Releases run from an RCU callback after the reap, 10 s or more later
  // with CONFIG_RCU_LAZY unless the callbacks are run.
  for (int i = 0; i < 750 && a.value("kscope_task_released_total", pod).value_or(0) < 5; i++) {
    if (i == 50) test::flush_rcu_callbacks();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    a.sample();
  }
  a.sample();

  EXPECT_EQ(a.value("kscope_fd_open_calls_total", service), 100 + 1);  // + /dev/zero
  EXPECT_EQ(a.value("kscope_fd_open_errors_total", service), 0);
  EXPECT_EQ(a.value("kscope_vfs_read_calls_total", service), 50);
  EXPECT_EQ(a.value("kscope_vfs_read_bytes_total", service), 50.0 * kSize);
  EXPECT_EQ(a.value("kscope_vfs_read_size_bytes", service, 4096), 50);
  EXPECT_EQ(a.value("kscope_vfs_read_size_bytes", service, 2048), 0);
  EXPECT_EQ(a.value("kscope_vfs_write_calls_total", service), 1);  // "0" into cgroup.procs
  EXPECT_EQ(a.value("kscope_process_created_total", service), 3);
  EXPECT_EQ(a.value("kscope_task_exits_total", service), 3 + 1);  // children + the worker
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", pod), 200 + 7);
  EXPECT_EQ(a.value("kscope_fd_open_errors_total", pod), 7);
  EXPECT_EQ(a.value("kscope_process_created_total", pod), 4);
  EXPECT_EQ(a.value("kscope_task_released_total", pod), 4 + 1);
  EXPECT_EQ(a.value("kscope_process_zombies", pod), 0);

  auto si = a.info(service);
  ASSERT_TRUE(si);
  EXPECT_EQ(label_value(*si, "systemd_unit"), "kscope-test.service");
  EXPECT_EQ(label_value(*si, "container_id"), "<absent>");
  auto pi = a.info(pod);
  ASSERT_TRUE(pi);
  EXPECT_EQ(label_value(*pi, "container_id"), container);
  EXPECT_EQ(label_value(*pi, "pod_uid"), uid);
  EXPECT_EQ(label_value(*pi, "namespace"), "shop");
  EXPECT_EQ(label_value(*pi, "pod"), "cart-7d9f");
  fs::remove_all(pods_dir);
}

// fd and vfs per cgroup. With kernel BTF (5.11+) the cgroup id is read
// through the task's BTF; without it (btf_path missing: the objects load
// against their own BTF) it comes from bpf_get_current_cgroup_id(). Either
// way each worker's events land exactly in its own cgroup.
class CgroupIdSource : public CgroupAttributionTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CgroupIdSource, FdAndVfsEventsLandExactlyInTheWorkersCgroup) {
  const bool kernel_btf = GetParam();
  // The family under test (KSCOPE_TEST_ATTACH, as in the VMs); fentry needs
  // kernel BTF, so without it auto chooses.
  Attach family = test::test_attach();
  if (!kernel_btf && family == Attach::kFentry) family = Attach::kAuto;
  std::string one = tree_->make("one"), two = tree_->make("two");
  Attributed a(tree_->mount(), {"fd", "vfs"}, family,
               kernel_btf ? Config::kKernelBtfPath : "/nonexistent/kscope/vmlinux");
  a.sample();
  run_in(*tree_, one, [] {
    opens(30);
    int zero = open("/dev/zero", O_RDONLY);
    char buf[8];
    for (int i = 0; i < 20; i++)
      if (read(zero, buf, sizeof buf) != sizeof buf) _exit(4);
    close(zero);
  });
  run_in(*tree_, two, [] { opens(70); });
  a.sample();
  // Inside each worker: its opens, the close of cgroup.procs (opened
  // before the move) and its 1-byte write to it.
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", one), 30 + 1);
  EXPECT_EQ(a.value("kscope_fd_close_calls_total", one), 30 + 1 + 1);
  EXPECT_EQ(a.value("kscope_vfs_read_calls_total", one), 20);
  EXPECT_EQ(a.value("kscope_vfs_read_bytes_total", one), 20 * 8);
  EXPECT_EQ(a.value("kscope_vfs_write_calls_total", one), 1);
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", two), 70);
  EXPECT_EQ(a.value("kscope_fd_close_calls_total", two), 70 + 1);
  EXPECT_EQ(a.value("kscope_vfs_read_calls_total", two).value_or(0), 0);
  EXPECT_EQ(a.value("kscope_vfs_write_calls_total", two), 1);
}

INSTANTIATE_TEST_SUITE_P(Btf, CgroupIdSource, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "KernelBtf" : "NoKernelBtf"; });

double sum(const std::map<std::string, double>& m) {
  double s = 0;
  for (const auto& [k, v] : m) s += v;
  return s;
}

// Both halves: bounded series (max_cgroups) and a map too small (overflow).
void expect_bounded_and_exact(CgroupTree& tree, uint32_t max_series, uint32_t map_entries,
                              bool expect_overflow) {
  std::vector<std::string> cgroups;
  for (int i = 1; i <= 5; i++) cgroups.push_back(tree.make("busy" + std::to_string(i)));
  Attributed a(tree.mount(), max_series, map_entries);
  // Node-wide fd counts of every process (unlike test::Probe), to compare.
  Config config = default_config(collector_names());
  prometheus::Registry node_registry;
  CollectorContext ctx{node_registry, config};
  auto node_fd = collector_factories().at("fd")(ctx);
  node_fd->start();
  auto node_opens = [&] {
    node_fd->sample();
    for (const auto& f : node_registry.Collect())
      if (f.name == "kscope_fd_open_calls_total") return f.metric[0].counter.value;
    return -1.0;
  };

  // Node samples on both sides of each attributed one: the machine goes on
  // opening files meanwhile, so the attributed delta lies between the node
  // deltas over the inner and the outer pair of instants, with no tolerance.
  double node_before_outer = node_opens();
  a.sample();
  double node_before_inner = node_opens();
  auto before = a.by_label("kscope_fd_open_calls_total");
  int known = 0;
  for (int i = 0; i < 5; i++) {
    int n = 100 * (i + 1);
    run_in(tree, cgroups[i], [n] { opens(n); });
    known += n;
  }
  double node_after_inner = node_opens();
  a.sample();
  double node_after_outer = node_opens();
  auto after = a.by_label("kscope_fd_open_calls_total");

  EXPECT_LE(after.size(), max_series + 1u) << "series beyond max_cgroups + other";
  double attributed = sum(after) - sum(before);
  EXPECT_GE(attributed, known);
  EXPECT_GE(attributed, node_after_inner - node_before_inner) << "sum over cgroup < node total";
  EXPECT_LE(attributed, node_after_outer - node_before_outer) << "sum over cgroup > node total";
  // Every busy cgroup is either exact under its own label or inside other.
  double in_other = 0;
  for (int i = 0; i < 5; i++) {
    int n = 100 * (i + 1);
    if (after.count(cgroups[i]))
      EXPECT_EQ(after[cgroups[i]] - before[cgroups[i]], n) << cgroups[i];
    else
      in_other += n;
  }
  EXPECT_GE(after["other"] - before["other"], in_other);
  double overflowed = a.value("kscope_cgroup_overflow_events_total", "").value_or(0);
  for (const auto& f : a.registry.Collect())
    if (f.name == "kscope_cgroup_overflow_events_total")
      for (const auto& m : f.metric) overflowed += m.counter.value;
  if (expect_overflow)
    EXPECT_GT(overflowed, 0);
  else
    EXPECT_EQ(overflowed, 0);
}

TEST_F(CgroupAttributionTest, MaxCgroupsBoundsTheSeriesAndSumsStayExact) {
  expect_bounded_and_exact(*tree_, 2, 0, false);
}

TEST_F(CgroupAttributionTest, MapFarTooSmallKeepsNodeTotalsExactThroughOverflow) {
  // Two entries for the whole machine: most cgroups find the map full.
  expect_bounded_and_exact(*tree_, 500, 2, true);
}

class CgroupRemoval : public CgroupAttributionTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CgroupRemoval, RemovedCgroupLeavesAndRecreatedPathIsOneSeries) {
  std::string gone = tree_->make("short-lived");
  std::string again = tree_->make("restarted.service");
  Attributed a(tree_->mount(), 500, 0, "/nonexistent", GetParam());
  run_in(*tree_, gone, [] { opens(30); });
  run_in(*tree_, again, [] { opens(40); });
  a.sample();
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", gone), 30);
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", again), 40);

  tree_->remove(gone);
  tree_->remove(again);
  tree_->make("restarted.service");  // same path, new cgroup id
  run_in(*tree_, again, [] { opens(50); });
  a.sample();  // sees the removal; the final values stay published
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", gone), 30);
  a.scrape();  // a scrape has seen them
  a.sample();
  a.sample();
  EXPECT_FALSE(a.value("kscope_fd_open_calls_total", gone)) << "removed cgroup's series stayed";
  EXPECT_FALSE(a.info(gone));
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", again), 40 + 50) << "one series per path";
  EXPECT_TRUE(a.info(again));
}

TEST_P(CgroupRemoval, SeriesStayUntilAScrapeHasSeenTheFinalValues) {
  std::string gone = tree_->make("unscraped");
  Attributed a(tree_->mount(), 500, 0, "/nonexistent", GetParam());
  run_in(*tree_, gone, [] { opens(10); });
  a.sample();
  tree_->remove(gone);
  for (int i = 0; i < 4; i++) a.sample();  // no scrape in between
  EXPECT_EQ(a.value("kscope_fd_open_calls_total", gone), 10);
  a.scrape();
  a.sample();
  EXPECT_FALSE(a.value("kscope_fd_open_calls_total", gone));
}

// The fd probe's cgroup cache (a per-CPU array of fd_stats, sized for
// attribution) in this process: each slot's counts summed over CPUs.
std::vector<fd_stats> fd_cache_slots() {
  std::vector<fd_stats> out;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec).string() != "anon_inode:bpf-map") continue;
    int fd = std::stoi(e.path().filename().string());
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || std::string(info.name) != "cgroup_cache" ||
        info.value_size != sizeof(fd_stats) || info.max_entries != KSCOPE_CGROUP_CACHE_SLOTS)
      continue;
    EXPECT_TRUE(out.empty()) << "more than one fd cgroup cache";
    for (uint32_t slot = 0; slot < KSCOPE_CGROUP_CACHE_SLOTS; slot++) {
      fd_stats sum{};
      auto words = read_percpu_u64s(fd, slot, FD_STAT_MAX);
      std::copy(words.begin(), words.end(), sum.v);
      out.push_back(sum);
    }
  }
  EXPECT_EQ(out.size(), KSCOPE_CGROUP_CACHE_SLOTS) << "no fd cgroup cache found";
  out.resize(KSCOPE_CGROUP_CACHE_SLOTS);
  return out;
}

uint64_t cgroup_id(const CgroupTree& tree, const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat((tree.mount() + path).c_str(), &st), 0) << path;
  return st.st_ino;
}

// Two cgroups whose ids fall on the same cache slot: the slot counts for the
// busier, hands over when the other gets busier, and every count stays
// exact throughout (hash entry + slot + slots given up).
TEST_F(CgroupAttributionTest, CacheSlotGoesToTheBusiestCgroupAndCountsStayExact) {
  // 65 cgroups: two share a slot. Not the slot of this process's cgroup,
  // which is busy too.
  uint64_t own = 0;
  {
    std::ifstream f("/proc/self/cgroup");
    for (std::string line; std::getline(f, line);)
      if (line.rfind("0::", 0) == 0) own = cgroup_id(*tree_, line.substr(3));
  }
  std::map<uint64_t, std::string> by_slot;
  std::string quiet, busy;
  for (int i = 0; i < 130 && busy.empty(); i++) {
    std::string path = tree_->make("c" + std::to_string(i));
    uint64_t slot = cgroup_id(*tree_, path) % KSCOPE_CGROUP_CACHE_SLOTS;
    if (slot == own % KSCOPE_CGROUP_CACHE_SLOTS || slot == 1) continue;  // 1: the root
    if (auto [it, added] = by_slot.emplace(slot, path); !added) {
      quiet = it->second;
      busy = path;
    }
  }
  ASSERT_FALSE(busy.empty());
  const uint64_t slot = cgroup_id(*tree_, busy) % KSCOPE_CGROUP_CACHE_SLOTS;
  Attributed a(tree_->mount(), 500);
  auto opens_in = [&](const std::string& cg) { return a.value("kscope_fd_open_calls_total", cg); };

  run_in(*tree_, quiet, [] { opens(100); });
  a.sample();  // quiet missed its free slot: it gets it
  EXPECT_EQ(opens_in(quiet), 100);
  auto cached = [&] {  // kscope_cgroup_cache_cgroups{probe="fd"}
    for (const auto& f : a.registry.Collect())
      if (f.name == "kscope_cgroup_cache_cgroups")
        for (const auto& m : f.metric)
          if (label_value(m, "probe") == "fd") return m.gauge.value;
    return -1.0;
  };
  EXPECT_GE(cached(), 1);
  run_in(*tree_, quiet, [] { opens(100); });
  a.sample();
  EXPECT_EQ(fd_cache_slots()[slot].v[FD_STAT_OPEN_CALLS], 100) << "not counted in the slot";
  EXPECT_EQ(opens_in(quiet), 200);

  // busy misses the slot by far: quiet's slot drains, then goes to busy.
  for (int round = 1; round <= 3; round++) {
    run_in(*tree_, busy, [] { opens(1000); });
    a.sample();
    EXPECT_EQ(opens_in(busy), 1000 * round) << "round " << round;
    EXPECT_EQ(opens_in(quiet), 200) << "round " << round;
  }
  EXPECT_EQ(fd_cache_slots()[slot].v[FD_STAT_OPEN_CALLS], 1000) << "the slot is not busy's";
  run_in(*tree_, quiet, [] { opens(10); });
  a.sample();
  EXPECT_EQ(opens_in(quiet), 210);
  EXPECT_EQ(opens_in(busy), 3000);

  // busy removed while it holds the slot: its series go, the slot is zeroed.
  tree_->remove(busy);
  a.sample();
  EXPECT_EQ(opens_in(busy), 3000);
  a.scrape();
  a.sample();
  a.sample();
  EXPECT_FALSE(opens_in(busy));
  EXPECT_EQ(fd_cache_slots()[slot].v[FD_STAT_OPEN_CALLS], 0);
  EXPECT_EQ(opens_in(quiet), 210);

  // quiet takes the free slot again: hash entry + counts kept from its first
  // slot + its new slot.
  run_in(*tree_, quiet, [] { opens(100); });
  a.sample();
  run_in(*tree_, quiet, [] { opens(100); });
  a.sample();
  EXPECT_EQ(fd_cache_slots()[slot].v[FD_STAT_OPEN_CALLS], 100) << "quiet did not get it back";
  EXPECT_EQ(opens_in(quiet), 410);
}

INSTANTIATE_TEST_SUITE_P(HowRemovalsAreFound, CgroupRemoval, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "RmdirTracepoint" : "Stat"; });

}  // namespace
}  // namespace kscope
