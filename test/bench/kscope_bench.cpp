// kscope_bench: what kscope costs the system it traces. Not a test (no
// pass/fail exit status for targets); run by hand as root, see BENCHMARKS.md.
//
// Sections (--only=a,b):
//   traced    ns per read / openat+close / fork+waitpid with no hooks, empty
//             programs on kscope's hooks (the floor), kscope's probes, bpftrace
//   untraced  the same for getppid, which no probe hooks
//   two-cpu   read on CPU 0 and CPU 1 at once: per-CPU slots vs one shared slot
//   exporter  the kscope binary: CPU idle and under 500k events/s, RSS, scrapes
//   startup   exec to every probe attached, SIGTERM to exit
#include <fcntl.h>
#include <prometheus/registry.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "bpf/object.h"
#include "cgroup/attribution.h"
#include "cgroup/metadata.h"
#include "collector.h"
#include "config.h"
#include "e2e_util.h"
#include "floor.skel.h"
#include "log.h"
#include "soak_drivers.h"
#include "version.h"

namespace kscope::bench {
namespace {

using namespace std::chrono_literals;

const char* const kBpftrace = "/usr/bin/bpftrace";
const char* const kModules[] = {"fd", "vfs", "process"};

struct Options {
  bool quick = false;
  int rounds = 3;   // attach cycles per variant
  int repeats = 3;  // measurements per attach
  int cpu = -1;     // the CPU of the single-CPU measurements; -1: the last one
  std::set<std::string> only;
  bool bpftrace = true;
  std::string kscope_binary = KSCOPE_BINARY;
  double exporter_seconds = 10;
  int scrapes = 1000;
  int startups = 5;
  double event_rate = 500'000;
  int cgroup_forks = 1;  // forks a second per cgroup in section 6's second load

  bool wants(const std::string& section) const { return only.empty() || only.count(section); }
  long scaled(long n) const { return quick ? n / 4 : n; }
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "kscope_bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// ---------------------------------------------------------------- workloads

int g_zero_fd = -1;

void do_reads(long n) {
  char c;
  for (long i = 0; i < n; i++)
    if (read(g_zero_fd, &c, 1) != 1) die("read /dev/zero");
}

void do_open_close(long n) {
  for (long i = 0; i < n; i++) {
    int fd = openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("openat /dev/null");
    close(fd);
  }
}

void do_forks(long n) {
  for (long i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) die("fork");
    waitpid(p, nullptr, 0);
  }
}

void do_getppid(long n) {
  // syscall(): glibc could one day cache getppid() as it once did getpid().
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
}

// CPU time of the calling thread plus that of its reaped children, in
// seconds. Time spent waiting for a CPU is not in it: on a busy machine the
// wall clock measures the neighbours as much as the syscall.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  rusage ch;
  getrusage(RUSAGE_CHILDREN, &ch);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9 + tv(ch.ru_utime) + tv(ch.ru_stime);
}

bool g_wall_clock = false;  // --clock=wall

double now_seconds() {
  return g_wall_clock ? std::chrono::duration<double>(Clock::now().time_since_epoch()).count()
                      : cpu_seconds();
}

// ns per call: n/10 calls of warm-up (caches, branch predictors, the first
// page faults after attaching), then n calls in kBatches batches; the fastest
// batch is the round's figure: interrupts and a neighbour's cache pollution
// only ever add time.
constexpr int kBatches = 5;

double ns_per_call(void (*run)(long), long n) {
  run(std::max(1L, n / 10));
  const long per_batch = std::max(1L, n / kBatches);
  double best = INFINITY;
  for (int b = 0; b < kBatches; b++) {
    double t0 = now_seconds();
    run(per_batch);
    best = std::min(best, (now_seconds() - t0) * 1e9 / static_cast<double>(per_batch));
  }
  return best;
}

struct Workload {
  std::string name;
  bool traced;                     // a syscall kscope hooks
  bool judged;                     // its hooks' cost can be timed: targets apply
  long calls;                      // per measurement
  std::function<double(long)> ns;  // ns per call over that many calls
  std::function<void(long)> run;   // just the calls
};

// Forks from a small process started before anything is loaded: fork copies
// the parent's page tables, and this process's (libbpf, skeletons,
// prometheus) would make each fork several times slower and noisier. It
// inherits the CPU affinity and the clock choice.
class Forker {
 public:
  Forker() {
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) die("pipe");
    pid_ = fork();
    if (pid_ < 0) die("fork");
    if (pid_ == 0) {
      close(to[1]);
      close(from[0]);
      long n;
      // n > 0: time n forks; n < 0: just make -n forks.
      while (read(to[0], &n, sizeof(n)) == sizeof(n)) {
        double ns = 0;
        if (n > 0)
          ns = ns_per_call(do_forks, n);
        else
          do_forks(-n);
        if (write(from[1], &ns, sizeof(ns)) != sizeof(ns)) break;
      }
      _exit(0);
    }
    close(to[0]);
    close(from[1]);
    to_ = to[1];
    from_ = from[0];
  }
  ~Forker() {
    close(to_);  // EOF: it exits
    close(from_);
    waitpid(pid_, nullptr, 0);
  }
  Forker(const Forker&) = delete;
  Forker& operator=(const Forker&) = delete;
  double ns_per_call_of_fork(long n) {
    double ns = NAN;
    if (write(to_, &n, sizeof(n)) != sizeof(n) || read(from_, &ns, sizeof(ns)) != sizeof(ns))
      die("fork helper");
    return ns;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

// ----------------------------------------------------------------- variants

// Children of ours that hold BPF hooks (bpftrace): not "other processes".
std::set<pid_t> g_own_pids;

// Processes other than this one with BPF programs on tracepoints: they put
// every syscall on the slow path, so "none" is not none.
std::map<pid_t, int> foreign_attachments() {
  std::map<pid_t, int> by_pid;
  std::istringstream in(command_output("bpftool perf list 2>/dev/null"));
  for (std::string line; std::getline(in, line);) {
    pid_t pid;
    if (std::sscanf(line.c_str(), "pid %d", &pid) == 1 && pid != getpid() && !g_own_pids.count(pid))
      by_pid[pid]++;
  }
  return by_pid;
}

class Variant {
 public:
  explicit Variant(std::string name) : name_(std::move(name)) {}
  virtual ~Variant() = default;
  const std::string& name() const { return name_; }
  // Throws std::exception saying why the variant cannot run here.
  virtual void attach() = 0;
  virtual void detach() = 0;
  // Kernel name of the program this variant runs on sys_*_read, if any.
  virtual std::string read_prog() const { return ""; }
  // The process holding its programs. This one's unattached variants hold
  // some too, but only the attached ones run.
  virtual pid_t holder() const { return getpid(); }
  std::vector<uint32_t> prog_ids;  // set by run_rounds() after each attach

 private:
  std::string name_;
};

class NoHooks : public Variant {
 public:
  NoHooks() : Variant("none") {}
  void attach() override {}
  void detach() override {}
};

// Empty programs from floor.bpf.c (or its shared-slot program): loaded once,
// attached and detached each round.
class FloorHooks : public Variant {
 public:
  FloorHooks(std::string name, std::string prefix) : Variant(std::move(name)), prefix_(prefix) {
    skel_.reset(floor_bpf__open());
    if (!skel_) throw std::runtime_error("open floor.bpf.o: " + std::string(strerror(errno)));
    // The process module's tp_btf hooks fire in both modes.
    std::vector<std::string> keep{prefix};
    if (prefix != "shared__") keep.push_back("btf__");
    keep_only(skel_->obj, keep);
    if (int err = floor_bpf__load(skel_.get()); err != 0)
      throw std::runtime_error("load floor.bpf.o: " + std::string(strerror(-err)));
  }
  void attach() override { attachment_ = attach_all(skel_->obj, {}); }
  void detach() override { attachment_ = {}; }
  std::string read_prog() const override {
    return prefix_ == "raw__" ? "raw__sys_exit" : prefix_ + "read";
  }

 private:
  std::string prefix_;
  SkelPtr<floor_bpf> skel_{nullptr, floor_bpf__destroy};
  Attachment attachment_;
};

// kscope's fd, vfs and process modules in this process, as the binary runs
// them (every task counted; per_cgroup: counted per cgroup, the exporter's
// default), without the HTTP server and the sampler.
class KscopeProbes : public Variant {
 public:
  // task_btf false: as on a kernel without BTF (btf_path missing), where
  // the cgroup id comes from bpf_get_current_cgroup_id(); fd and vfs only,
  // process needs BTF.
  KscopeProbes(std::string name, Mode mode, bool per_cgroup = false, Attach attach = Attach::kAuto,
               bool task_btf = true)
      : Variant(std::move(name)), mode_(mode), per_cgroup_(per_cgroup) {
    config_ = default_config(collector_names());
    config_.mode = mode;
    for (auto& [_, module] : config_.modules) module.attach = attach;
    if (!task_btf) {
      config_.btf_path = "/nonexistent/kscope-bench/vmlinux";
      modules_ = {"fd", "vfs"};
    }
    if (per_cgroup_ && !find_cgroup2_mount(read_text("/proc/self/mountinfo")))
      throw std::runtime_error(Variant::name() + ": no cgroup2 mount");
  }
  void attach() override {
    registry_ = std::make_unique<prometheus::Registry>();
    CollectorContext ctx{*registry_, config_, 0};
    if (per_cgroup_) {
      attribution_ = std::make_unique<CgroupAttribution>(
          *find_cgroup2_mount(read_text("/proc/self/mountinfo")), config_.max_cgroups,
          config_.pods_log_dir, *registry_);
      ctx.attribution = attribution_.get();
    }
    try {
      for (const auto& m : modules_) {
        collectors_.push_back(collector_factories().at(m)(ctx));
        collectors_.back()->start();
      }
    } catch (...) {
      detach();
      throw;
    }
    if (per_cgroup_) warm_up_cache();
  }
  void detach() override {
    collectors_.clear();
    attribution_.reset();
    registry_.reset();
  }
  // As kscope one sampling interval after start: this process's cgroup did
  // each kind of event, missed every module's cgroup cache, and a sample
  // gave it a slot of each, so the runs measure the hot path.
  void warm_up_cache() {
    int zero = open("/dev/zero", O_RDONLY);
    char c;
    for (int i = 0; i < 1000; i++) (void)!read(zero, &c, 1);
    close(zero);
    for (int i = 0; i < 10; i++) {
      pid_t p = fork();
      if (p == 0) _exit(0);
      waitpid(p, nullptr, 0);
    }
    attribution_->begin_pass();
    for (auto& c : collectors_) c->sample();
    attribution_->end_pass();
  }
  std::string read_prog() const override {
    // The vfs module's read hook in the family that attached.
    std::string family = collectors_.size() > 1 ? collectors_[1]->attachment().family : "";
    if (family == "fentry") return mode_ == Mode::kReturn ? "fexit__read" : "fentry__read";
    if (family == "kprobe") return mode_ == Mode::kReturn ? "kret__read" : "kprobe__read";
    return mode_ == Mode::kReturn ? "tp_exit__read" : "tp_enter__read";
  }

 private:
  Mode mode_;
  bool per_cgroup_;
  std::vector<std::string> modules_{std::begin(kModules), std::end(kModules)};
  Config config_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<CgroupAttribution> attribution_;
  std::vector<std::unique_ptr<Collector>> collectors_;
};

// bpftrace counting what kscope counts in mode return, on classic
// tracepoints (bpftrace 0.17 has no tp_btf; its fentry is refused here).
// The process/thread split needs the child's tgid, which the sched_process_fork
// tracepoint lacks: one counter for both.
const char* const kBpftraceScript = R"(
BEGIN { printf("kscope-bench: attached\n"); }
tracepoint:syscalls:sys_exit_open, tracepoint:syscalls:sys_exit_openat,
tracepoint:syscalls:sys_exit_openat2, tracepoint:syscalls:sys_exit_creat,
tracepoint:syscalls:sys_exit_open_by_handle_at
{ @fd_open_calls = count(); if (args->ret < 0) { @fd_open_errors = count(); } }
tracepoint:syscalls:sys_exit_close, tracepoint:syscalls:sys_exit_close_range
{ @fd_close_calls = count(); if (args->ret < 0) { @fd_close_errors = count(); } }
tracepoint:syscalls:sys_exit_read, tracepoint:syscalls:sys_exit_readv,
tracepoint:syscalls:sys_exit_pread64, tracepoint:syscalls:sys_exit_preadv,
tracepoint:syscalls:sys_exit_preadv2
{ @read_calls = count();
  if (args->ret < 0) { @read_errors = count(); }
  else { @read_bytes = sum(args->ret); @read_size = hist(args->ret); } }
tracepoint:syscalls:sys_exit_write, tracepoint:syscalls:sys_exit_writev,
tracepoint:syscalls:sys_exit_pwrite64, tracepoint:syscalls:sys_exit_pwritev,
tracepoint:syscalls:sys_exit_pwritev2
{ @write_calls = count();
  if (args->ret < 0) { @write_errors = count(); }
  else { @write_bytes = sum(args->ret); @write_size = hist(args->ret); } }
tracepoint:syscalls:sys_exit_unlink, tracepoint:syscalls:sys_exit_unlinkat,
tracepoint:syscalls:sys_exit_rmdir
{ @unlink_calls = count(); if (args->ret < 0) { @unlink_errors = count(); } }
tracepoint:syscalls:sys_exit_fsync, tracepoint:syscalls:sys_exit_fdatasync,
tracepoint:syscalls:sys_exit_sync_file_range
{ @fsync_calls = count(); if (args->ret < 0) { @fsync_errors = count(); } }
tracepoint:syscalls:sys_exit_fork, tracepoint:syscalls:sys_exit_vfork,
tracepoint:syscalls:sys_exit_clone, tracepoint:syscalls:sys_exit_clone3
{ @create_calls = count(); if (args->ret < 0) { @create_errors = count(); } }
tracepoint:sched:sched_process_fork { @created = count(); }
tracepoint:sched:sched_process_exit { @exits = count(); }
tracepoint:sched:sched_process_free { @released = count(); }
)";

class Bpftrace : public Variant {
 public:
  Bpftrace() : Variant("bpftrace") {}
  void attach() override {
    proc_ = std::make_unique<Process>(std::vector<std::string>{kBpftrace, "-e", kBpftraceScript});
    g_own_pids.insert(proc_->pid());
    // BEGIN fires after every other probe is attached ("Attaching N probes"
    // is printed before).
    auto until = Clock::now() + 60s;
    while (proc_->output().find("kscope-bench: attached") == std::string::npos) {
      if (!proc_->running() || Clock::now() > until) {
        std::string out = proc_->output();
        g_own_pids.erase(proc_->pid());
        proc_.reset();
        throw std::runtime_error("bpftrace did not attach: " + out);
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  void detach() override {
    if (!proc_) return;
    proc_->stop(SIGINT, 20s);  // prints its maps, detaches, exits
    g_own_pids.erase(proc_->pid());
    proc_.reset();  // SIGKILL if it did not
  }
  std::string read_prog() const override { return "sys_exit_read"; }
  pid_t holder() const override { return proc_ ? proc_->pid() : -1; }

 private:
  std::unique_ptr<Process> proc_;
};

// Builds a variant, or says why it cannot run.
template <typename V, typename... Args>
std::unique_ptr<Variant> try_variant(std::vector<std::string>& skipped, Args&&... args) {
  try {
    return std::make_unique<V>(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    skipped.push_back(e.what());
    return nullptr;
  }
}

// -------------------------------------------------------------- the report

struct Target {
  std::string what, status, detail;  // status: MET, MISSED, UNRESOLVED, N/A
};

struct Report {
  std::vector<Target> targets;
  std::vector<std::string> notes;
  void target(const std::string& what, std::optional<bool> met, const std::string& detail) {
    targets.push_back({what, !met ? "N/A" : *met ? "MET" : "MISSED", detail});
  }
  void target(const std::string& what, const std::string& status, const std::string& detail) {
    targets.push_back({what, status, detail});
  }
};

void print_machine() {
  utsname u{};
  uname(&u);
  std::string model = "?";
  std::istringstream in(read_text("/proc/cpuinfo"));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  // The tree as built: the configure-time revision misses uncommitted changes.
  std::string tree = command_output("git -C " KSCOPE_SOURCE_DIR
                                    " describe --always --dirty --abbrev=12 2>/dev/null");
  if (!tree.empty() && tree.back() == '\n') tree.pop_back();
  std::printf(
      "kscope_bench: kscope %s (built from %s), kernel %s, %ld CPUs (%s), load average %s\n",
      KSCOPE_VERSION, tree.empty() ? KSCOPE_REVISION : tree.c_str(), u.release,
      sysconf(_SC_NPROCESSORS_ONLN), model.c_str(),
      read_text("/proc/loadavg").substr(0, 14).c_str());
}

// Per-variant, per-workload ns/call of each measurement, aligned across
// variants (the i-th of each comes from the same round).
using Samples = std::map<std::string, std::map<std::string, std::vector<double>>>;

struct Estimate {
  double value = NAN, err = NAN;  // err: rough standard error
  bool resolved() const { return value > 3 * err; }
};

// Median of (x - none) over measurements of the same round and index (drift
// between rounds cancels), with a standard error from the differences' MAD.
Estimate paired_overhead(const Samples& s, const std::string& v, const std::string& w) {
  const auto& x = s.at(v).at(w);
  const auto& base = s.at("none").at(w);
  std::vector<double> d, dev;
  for (size_t r = 0; r < std::min(x.size(), base.size()); r++) d.push_back(x[r] - base[r]);
  double med = median(d);
  for (double x : d) dev.push_back(std::fabs(x - med));
  // 1.4826 MAD estimates sigma; the median's standard error is ~1.25 sigma/sqrt(n).
  return {med, 1.4826 * median(dev) * 1.2533 / std::sqrt(static_cast<double>(d.size()))};
}

Estimate ratio(const Estimate& a, const Estimate& b) {
  double r = a.value / b.value;
  return {r, std::fabs(r) * std::hypot(a.err / a.value, b.err / b.value)};
}

std::string fmt_pm(const Estimate& e, int decimals) {
  return fmt(e.value, decimals) + "±" + fmt(e.err, decimals);
}

// Largest (max - min) / median over the measurements of any cell: how noisy the run was.
std::string spread(const Samples& s) {
  double worst = 0;
  std::string where;
  for (const auto& [v, ws] : s)
    for (const auto& [w, xs] : ws) {
      auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
      double sp = (*hi - *lo) / median(xs);
      if (sp > worst) worst = sp, where = v + " / " + w;
    }
  return fmt(worst * 100, 0) + "% (" + where + ")";
}

struct RoundStats {
  std::map<std::string, std::vector<double>> attach_ms, detach_ms;
  int redone = 0;           // measurements redone: other processes' hooks came or went
  std::set<pid_t> foreign;  // their pids, seen during measurements kept
  double waited = 0;        // seconds spent waiting for them to go
  double seconds = 0;
};

// Other processes' BPF programs on tracepoints (a test run, another kscope)
// slow "none" as much as ours. Before measuring, wait for them to go (20 s
// in all, then live with them); redo a measurement during which some came or
// went (twice at most); report the ones measured with.
void wait_for_no_foreign_hooks(RoundStats& st) {
  auto t0 = Clock::now();
  while (st.waited + seconds_since(t0) < 20 && !foreign_attachments().empty())
    std::this_thread::sleep_for(200ms);
  st.waited += seconds_since(t0);
}

// Attaching is cheap but detaching is not (the kernel synchronizes on each
// syscall tracepoint it leaves: ~60 ms each here, ~2 s for kscope's 30), so
// each variant is attached once per round and measured `repeats` times. The order of the
// variants rotates between rounds so that slow drift (another build,
// frequency changes) hits them all alike. Variants that fail to attach are
// dropped with a note.
Samples run_rounds(const Options& o, std::vector<std::unique_ptr<Variant>>& variants,
                   const std::function<void(Variant&, std::map<std::string, double>&)>& measure,
                   Report& rep, RoundStats& st) {
  Samples s;
  std::set<std::string> failed;
  auto t0 = Clock::now();
  for (int r = 0; r < o.rounds; r++) {
    for (size_t k = 0; k < variants.size(); k++) {
      Variant& v = *variants[(k + r) % variants.size()];
      if (failed.count(v.name())) continue;
      if (isatty(2))
        std::fprintf(stderr, "  round %d/%d %-16s\r", r + 1, o.rounds, v.name().c_str());
      auto ta = Clock::now();
      try {
        v.attach();
      } catch (const std::exception& e) {
        rep.notes.push_back(v.name() + " skipped: " + e.what());
        failed.insert(v.name());
        s.erase(v.name());
        continue;
      }
      st.attach_ms[v.name()].push_back(seconds_since(ta) * 1e3);
      v.prog_ids = prog_ids_held_by(v.holder());
      std::this_thread::sleep_for(20ms);
      for (int i = 0; i < o.repeats; i++) {
        for (int attempt = 0;; attempt++) {
          wait_for_no_foreign_hooks(st);
          auto before = foreign_attachments();
          std::map<std::string, double> m;
          measure(v, m);
          auto after = foreign_attachments();
          if (before != after && attempt < 2) {
            st.redone++;
            continue;
          }
          for (const auto& [pid, n] : after) st.foreign.insert(pid);
          for (const auto& [w, ns] : m) s[v.name()][w].push_back(ns);
          break;
        }
      }
      auto td = Clock::now();
      v.detach();
      st.detach_ms[v.name()].push_back(seconds_since(td) * 1e3);
    }
  }
  if (isatty(2)) std::fprintf(stderr, "%40s\r", "");
  std::erase_if(variants, [&](const auto& v) { return failed.count(v->name()) > 0; });
  st.seconds = seconds_since(t0);
  return s;
}

// One line about how clean the measurements were.
void print_round_stats(const Samples& s, const RoundStats& st, Report& rep,
                       const std::string& section) {
  std::printf("  Largest spread (max-min)/median of a cell: %s. %.0f s", spread(s).c_str(),
              st.seconds);
  if (st.waited >= 1)
    std::printf(", %.0f s of it waiting for other processes' BPF hooks to go", st.waited);
  if (st.redone) std::printf("; %d measurements redone (such hooks came or went)", st.redone);
  std::printf(".\n");
  if (!st.foreign.empty()) {
    std::string pids;
    for (pid_t p : st.foreign) pids += " " + std::to_string(p);
    std::printf(
        "  WARNING: measured while other processes had BPF programs on tracepoints (pids%s): "
        "\"none\" was not hook-free.\n",
        pids.c_str());
    rep.notes.push_back(section + ": other processes' BPF hooks during some measurements");
  }
}

// ------------------------------------------------- 1 and 2: syscall overhead

void run_syscalls(const Options& o, Forker& forker, Report& rep) {
  std::vector<Workload> workloads;
  if (o.wants("traced")) {
    workloads.push_back({"read 1 B /dev/zero", true, true, o.scaled(200'000),
                         [](long n) { return ns_per_call(do_reads, n); }, do_reads});
    workloads.push_back({"openat+close /dev/null", true, true, o.scaled(40'000),
                         [](long n) { return ns_per_call(do_open_close, n); }, do_open_close});
    workloads.push_back({"fork+waitpid", true, false, o.scaled(500),
                         [&](long n) { return forker.ns_per_call_of_fork(n); },
                         [&](long n) { forker.ns_per_call_of_fork(-n); }});
  }
  if (o.wants("untraced"))
    workloads.push_back({"getppid (untraced)", false, false, o.scaled(200'000),
                         [](long n) { return ns_per_call(do_getppid, n); }, do_getppid});
  if (workloads.empty()) return;

  std::vector<std::string> skipped;
  std::vector<std::unique_ptr<Variant>> variants;
  variants.push_back(std::make_unique<NoHooks>());
  variants.push_back(try_variant<FloorHooks>(skipped, "floor", "exit__"));
  variants.push_back(try_variant<KscopeProbes>(skipped, "kscope", Mode::kReturn));
  // Each attach family, where this kernel has it (auto's order: BENCHMARKS.md).
  for (Attach a : {Attach::kFentry, Attach::kKprobe, Attach::kTracepoint})
    variants.push_back(try_variant<KscopeProbes>(skipped, std::string("kscope-") + attach_name(a),
                                                 Mode::kReturn, false, a));
  variants.push_back(try_variant<KscopeProbes>(skipped, "kscope-cgroup", Mode::kReturn, true));
  variants.push_back(try_variant<KscopeProbes>(skipped, "kscope-cgroup-helper", Mode::kReturn, true,
                                               Attach::kAuto, false));
  variants.push_back(try_variant<FloorHooks>(skipped, "floor-entry", "enter__"));
  variants.push_back(try_variant<FloorHooks>(skipped, "floor-raw", "raw__"));
  variants.push_back(try_variant<KscopeProbes>(skipped, "kscope-entry", Mode::kEntry));
  if (!o.bpftrace)
    skipped.push_back("bpftrace: --no-bpftrace");
  else if (access(kBpftrace, X_OK) != 0)
    skipped.push_back(std::string("bpftrace: ") + kBpftrace +
                      " not found (apt-get install bpftrace)");
  else
    variants.push_back(std::make_unique<Bpftrace>());
  std::erase(variants, nullptr);
  for (const auto& why : skipped) rep.notes.push_back("variant skipped: " + why);

  pin_thread(o.cpu);
  std::map<std::string, ProgSize> progs;
  std::map<std::string, std::map<std::string, std::vector<double>>> bpf_runs;  // variant, workload
  std::map<std::string, int> measured;                                         // by variant
  std::printf(
      "\n1-2. Syscall cost, ns per call on CPU %d (%s time): median of %d rounds x %d "
      "measurements\n",
      o.cpu, g_wall_clock ? "wall" : "CPU", o.rounds, o.repeats);
  std::fflush(stdout);
  RoundStats st;
  Samples s = run_rounds(
      o, variants,
      [&](Variant& v, std::map<std::string, double>& m) {
        for (const auto& w : workloads) m[w.name] = w.ns(w.calls);
        // Once per attach, untimed: the time inside its programs.
        if (v.name() == "none" || measured[v.name()]++ % o.repeats != 0) return;
        if (auto p = find_prog(v.prog_ids, v.read_prog())) progs[v.name()] = *p;
        for (const auto& w : workloads) {
          if (!w.traced) continue;
          const long n = std::max(1L, w.calls / 4);
          bpf_runs[v.name()][w.name].push_back(
              prog_ns_per_call(prog_time(v.prog_ids, [&] { w.run(n); }), n));
        }
      },
      rep, st);

  std::map<std::string, std::map<std::string, double>> bpf_ns;  // medians
  for (const auto& [v, by_workload] : bpf_runs)
    for (const auto& [w, runs] : by_workload) bpf_ns[v][w] = median(runs);
  std::vector<std::string> names;
  for (const auto& v : variants) names.push_back(v->name());
  auto has = [&](const std::string& v) { return s.count(v) > 0; };

  std::vector<std::string> header{"ns per call"};
  header.insert(header.end(), names.begin(), names.end());
  Table abs(header);
  for (const auto& w : workloads) {
    std::vector<std::string> row{w.name};
    for (const auto& v : names) row.push_back(fmt(median(s[v][w.name])));
    abs.add(row);
  }
  abs.print();

  std::printf(
      "\n  Overhead over none, ns per call (median of same-round differences ± standard error), "
      "and ratios of overheads\n");
  const std::vector<std::pair<std::string, std::string>> ratios{
      {"kscope", "floor"},    {"kscope-cgroup", "floor"},    {"kscope-cgroup-helper", "floor"},
      {"kscope", "bpftrace"}, {"kscope-cgroup", "bpftrace"}, {"kscope-entry", "floor-entry"}};
  std::vector<std::string> oh{"overhead"};
  oh.insert(oh.end(), names.begin() + 1, names.end());
  for (const auto& [a, b] : ratios)
    if (has(a) && has(b)) oh.push_back(a + "/" + b);
  Table over(oh);
  std::map<std::string, std::map<std::string, Estimate>> ovh;
  for (const auto& w : workloads) {
    std::vector<std::string> row{w.name};
    for (size_t i = 1; i < names.size(); i++) {
      ovh[names[i]][w.name] = paired_overhead(s, names[i], w.name);
      row.push_back(fmt_pm(ovh[names[i]][w.name], 0));
    }
    for (const auto& [a, b] : ratios)
      if (has(a) && has(b)) row.push_back(fmt_pm(ratio(ovh[a][w.name], ovh[b][w.name]), 2) + "x");
    over.add(row);
  }
  over.print();

  // The floor's timed overhead is the hook's dispatch plus an empty program;
  // another variant on the same hooks adds what its programs take beyond
  // empty ones: a far less noisy way to the same ratios.
  auto floor_of = [](const std::string& v) {
    return v.ends_with("-entry") ? std::string("floor-entry") : std::string("floor");
  };
  // (F + extra_a) / (F + extra_b) for a and b on the same floor F: its
  // error comes from F's alone.
  auto derived = [&](const std::string& a, const std::string& b, const std::string& w) {
    const std::string floor = floor_of(a);
    Estimate f = ovh[floor][w];
    double ea = bpf_ns[a][w] - bpf_ns[floor][w], eb = bpf_ns[b][w] - bpf_ns[floor][w];
    double r = (f.value + ea) / (f.value + eb);
    return Estimate{r, std::fabs(eb - ea) / std::pow(f.value + eb, 2) * f.err};
  };
  std::printf(
      "\n  Time inside the variant's BPF programs, ns per call: each program's mean ns per run "
      "(bpf_stats, median of\n  one run per attach; with ~2 clock reads, as the floor's empty "
      "programs show) "
      "x its runs per call; and the ratios it\n  implies: the floor's timed overhead plus the "
      "difference\n");
  std::vector<std::string> bh{"in BPF"};
  for (const auto& v : names)
    if (v != "none") bh.push_back(v);
  for (const auto& [a, b] : ratios)
    if (has(a) && has(b)) bh.push_back(a + "/" + b);
  Table in_bpf(bh);
  for (const auto& w : workloads) {
    if (!w.traced) continue;
    std::vector<std::string> row{w.name};
    for (const auto& v : names)
      if (v != "none") row.push_back(fmt(bpf_ns[v][w.name]));
    for (const auto& [a, b] : ratios)
      if (has(a) && has(b)) row.push_back(fmt_pm(derived(a, b, w.name), 2) + "x");
    in_bpf.add(row);
  }
  in_bpf.print();

  std::printf(
      "\n  floor: empty programs on kscope's hooks (mode return); kscope: fd+vfs+process, mode "
      "return, node-wide\n  (attribution: none); kscope-cgroup: the same counted per cgroup "
      "(the exporter's default);\n  kscope-cgroup-helper: the same as on a kernel without BTF, the "
      "cgroup id from "
      "bpf_get_current_cgroup_id()\n  (fd and vfs only); *-entry: mode entry; bpftrace: the same "
      "counting in "
      "bpftrace; floor-raw: a design alternative,\n  one empty program on the raw tracepoint "
      "sys_exit (every syscall) instead of the per-syscall ones, plus the tp_btf ones.\n");
  std::printf("  The program each runs on a read (xlated instructions / JIT bytes):");
  for (const auto& [v, p] : progs) std::printf(" %s %u/%u;", v.c_str(), p.insns, p.jited_bytes);
  std::printf("\n  Attach / detach, ms (median):");
  for (const auto& v : names)
    if (v != "none")
      std::printf(" %s %.0f/%.0f;", v.c_str(), median(st.attach_ms[v]), median(st.detach_ms[v]));
  std::printf("\n");
  print_round_stats(s, st, rep, "syscalls");
  std::fflush(stdout);

  // Targets, on the workloads whose hooks' cost can be timed here (not
  // fork: ~1 us of hooks in ~200 us of noisy fork). A ratio decides when it
  // is clear of the limit by two standard errors: the timed one, else the
  // one from bpf_stats. MISSED if one is clearly over; MET if all are clearly
  // within; UNRESOLVED otherwise.
  if (!o.wants("traced")) return;
  for (const std::string k : {"kscope", "kscope-cgroup"}) {
    if (!has(k)) continue;
    for (const auto& [ref, limit] :
         {std::pair{std::string("floor"), 1.15}, std::pair{std::string("bpftrace"), 0.5}}) {
      std::string what = k + ": traced-syscall overhead <= " + fmt(limit, 2) + "x " + ref + "'s";
      if (!has(ref)) {
        rep.target(what, std::nullopt, ref + " not measured");
        continue;
      }
      int judged = 0, met = 0, missed = 0;
      std::string detail;
      for (const auto& w : workloads) {
        if (!w.judged) continue;
        judged++;
        Estimate timed = ratio(ovh[k][w.name], ovh[ref][w.name]);
        Estimate from_bpf = derived(k, ref, w.name);
        detail += (detail.empty() ? "" : "; ") + w.name + " " + fmt_pm(timed, 2) + "x timed, " +
                  fmt_pm(from_bpf, 2) + "x from bpf_stats";
        for (const Estimate& r : {timed, from_bpf}) {
          if (r.value + 2 * r.err <= limit) {
            met++;
            break;
          }
          if (r.value - 2 * r.err > limit) {
            missed++;
            break;
          }
        }
      }
      rep.target(what,
                 std::string(missed                    ? "MISSED"
                             : judged && met == judged ? "MET"
                                                       : "UNRESOLVED"),
                 detail);
    }
  }
}

// ----------------------------------------------------------- 3: two CPUs

void run_two_cpus(const Options& o, Report& rep) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    rep.notes.push_back("two-cpu skipped: one CPU");
    return;
  }
  std::vector<std::string> skipped;
  std::vector<std::unique_ptr<Variant>> variants;
  variants.push_back(std::make_unique<NoHooks>());
  variants.push_back(try_variant<KscopeProbes>(skipped, "kscope", Mode::kReturn));
  variants.push_back(try_variant<FloorHooks>(skipped, "shared-slot", "shared__"));
  std::erase(variants, nullptr);
  for (const auto& why : skipped) rep.notes.push_back("two-cpu variant skipped: " + why);

  const long n = o.scaled(200'000);
  std::printf(
      "\n3. Two CPUs: read 1 B on CPU 0 alone, then on CPUs 0 and 1 at once; ns per call per "
      "thread, median of %d rounds x %d measurements\n",
      o.rounds, o.repeats);
  std::fflush(stdout);
  auto alone = [](const std::function<void()>& f) {
    std::thread([&] {
      pin_thread(0);
      f();
    }).join();
  };
  auto together = [](const std::function<void(int)>& f) {
    std::atomic<int> ready{0};
    std::vector<std::thread> ts;
    for (int cpu = 0; cpu < 2; cpu++)
      ts.emplace_back([&, cpu] {
        pin_thread(cpu);
        ready++;
        while (ready.load() < 2) {
        }
        f(cpu);
      });
    for (auto& t : ts) t.join();
  };
  RoundStats st;
  std::map<std::string, std::pair<double, double>> per_run;  // ns in the read program
  Samples s = run_rounds(
      o, variants,
      [&](Variant& v, std::map<std::string, double>& m) {
        alone([&] { m["alone cpu0"] = ns_per_call(do_reads, n); });
        double ns[2];
        together([&](int cpu) { ns[cpu] = ns_per_call(do_reads, n); });
        m["together cpu0"] = ns[0];
        m["together cpu1"] = ns[1];
        // Once per variant, untimed: the read program's own time per run, where
        // a cache line moving between CPUs shows without the syscall around it.
        if (per_run.count(v.name()) || v.name() == "none") return;
        auto p = find_prog(v.prog_ids, v.read_prog());
        if (!p) return;
        auto mean = [&](const std::map<uint32_t, ProgTime>& t) {
          auto it = t.find(p->id);
          return it == t.end() ? NAN : it->second.ns / static_cast<double>(it->second.runs);
        };
        per_run[v.name()] = {
            mean(prog_time({p->id}, [&] { alone([&] { do_reads(n / 2); }); })),
            mean(prog_time({p->id}, [&] { together([&](int) { do_reads(n / 2); }); }))};
      },
      rep, st);

  Table t({"variant", "alone cpu0", "together cpu0", "together cpu1", "overhead alone",
           "overhead together", "together/alone", "read prog ns/run alone", "together"});
  for (const auto& v : variants) {
    const std::string& name = v->name();
    std::vector<std::string> row{name, fmt(median(s[name]["alone cpu0"])),
                                 fmt(median(s[name]["together cpu0"])),
                                 fmt(median(s[name]["together cpu1"]))};
    if (name != "none") {
      Estimate alone = paired_overhead(s, name, "alone cpu0");
      Estimate c0 = paired_overhead(s, name, "together cpu0");
      Estimate c1 = paired_overhead(s, name, "together cpu1");
      Estimate together{(c0.value + c1.value) / 2, std::hypot(c0.err, c1.err) / 2};
      row.insert(row.end(),
                 {fmt_pm(alone, 1), fmt_pm(together, 1), fmt_pm(ratio(together, alone), 2) + "x"});
      if (per_run.count(name))
        row.insert(row.end(), {fmt(per_run[name].first), fmt(per_run[name].second)});
    }
    t.add(row);
  }
  t.print();
  std::printf(
      "  together/alone near 1: counting on one CPU does not slow the other (per-CPU slots).\n"
      "  shared-slot: kscope's read counting on one array entry for all CPUs, for contrast.\n"
      "  read prog ns/run: bpf_stats of the program on sys_exit_read, with its ~2 clock reads.\n");
  print_round_stats(s, st, rep, "two-cpu");
  std::fflush(stdout);
}

// ------------------------------------------------------ 4: the exporter

struct CpuUse {
  double wall = 0, stat = NAN, sched = NAN;  // CPU seconds per wall second
  std::string busiest;                       // the thread that used the most, and its share
};

CpuUse cpu_use(pid_t pid, double seconds) {
  auto t0 = Clock::now();
  auto c0 = process_cpu_seconds(pid);
  auto s0 = thread_cpu(pid);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto c1 = process_cpu_seconds(pid);
  auto s1 = thread_cpu(pid);
  CpuUse u;
  u.wall = seconds_since(t0);
  if (c0 && c1) u.stat = (*c1 - *c0) / u.wall;
  if (s1.empty()) return u;
  u.sched = 0;
  double most = -1;
  for (const auto& [tid, t] : s1) {
    // A thread born in the window counts from 0.
    double used = t.seconds - (s0.count(tid) ? s0[tid].seconds : 0);
    u.sched += used / u.wall;
    if (used > most) most = used, u.busiest = t.comm + " " + fmt(used / u.wall * 100, 3) + "%";
  }
  return u;
}

// 1-byte reads at `rate` per second in 1 ms batches until stop.
void paced_reads(int cpu, double rate, const std::atomic<bool>& stop, std::atomic<long>& done) {
  pin_thread(cpu);
  const long batch = static_cast<long>(rate / 1000);
  auto next = Clock::now();
  while (!stop.load(std::memory_order_relaxed)) {
    do_reads(batch);
    done.fetch_add(batch, std::memory_order_relaxed);
    next += 1ms;
    std::this_thread::sleep_until(next);
  }
}

std::optional<std::map<std::string, double>> scrape(int port) {
  auto r = test::http_get(port, "/metrics");
  if (r.status != 200) return std::nullopt;
  return test::parse_metrics(r.body);
}

// A metric summed over its label sets (cgroup="..." or none).
double sum_series(const std::map<std::string, double>& m, const std::string& name) {
  double sum = 0;
  for (auto it = m.lower_bound(name); it != m.end() && it->first.starts_with(name); ++it)
    if (it->first.size() == name.size() || it->first[name.size()] == '{') sum += it->second;
  return sum;
}

bool all_probes_up(const std::map<std::string, double>& m) {
  for (const char* mod : kModules) {
    auto it = m.find(std::string("kscope_probe_up{probe=\"") + mod + "\"}");
    if (it == m.end() || it->second != 1) return false;
  }
  return true;
}

// Waits for "(port N)" in kscope's log.
std::optional<int> wait_port(Process& p, std::chrono::seconds timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until && p.running()) {
    std::string out = p.output();
    if (auto at = out.find("(port "); at != std::string::npos) return std::stoi(out.substr(at + 6));
    std::this_thread::sleep_for(1ms);
  }
  return std::nullopt;
}

bool wait_probes_up(int port, std::chrono::seconds timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (auto m = scrape(port); m && all_probes_up(*m)) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

std::string pct(double cpu_per_s) { return fmt(cpu_per_s * 100, 3) + "%"; }

void run_exporter(const Options& o, Report& rep) {
  std::printf("\n4. The exporter: %s, default configuration; its log:\n", o.kscope_binary.c_str());
  std::fflush(stdout);
  if (access(o.kscope_binary.c_str(), X_OK) != 0) {
    rep.notes.push_back("exporter skipped: " + o.kscope_binary + " not built");
    return;
  }
  const int kscope_cpu = 0;
  const int load_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
  Process k({o.kscope_binary, "--web.listen-address=127.0.0.1:0"}, kscope_cpu);
  auto port = wait_port(k, 30s);
  if (!port || !wait_probes_up(*port, 30s)) {
    rep.notes.push_back("exporter skipped: kscope did not start with every probe up:\n" +
                        k.output());
    return;
  }
  auto hwm_started = proc_status_kib(k.pid(), "VmHWM");
  std::istringstream log(k.output());
  for (std::string line; std::getline(log, line);) std::printf("  | %s\n", line.c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(2s);  // start-up work out of the window

  const double secs = o.quick ? o.exporter_seconds / 2 : o.exporter_seconds;
  CpuUse idle = cpu_use(k.pid(), secs);

  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::thread load(paced_reads, load_cpu, o.event_rate, std::cref(stop), std::ref(done));
  std::this_thread::sleep_for(1500ms);  // one sample with the load in it, first
  auto m0 = scrape(*port);
  long d0 = done.load();
  auto t0 = Clock::now();
  CpuUse busy = cpu_use(k.pid(), secs);
  double load_rate = static_cast<double>(done.load() - d0) / seconds_since(t0);
  std::this_thread::sleep_for(1100ms);  // the sample covering the window's end
  auto m1 = scrape(*port);
  double window = seconds_since(t0);
  stop = true;
  load.join();
  double counted = NAN;
  if (m0 && m1)
    counted = (sum_series(*m1, "kscope_vfs_read_calls_total") -
               sum_series(*m0, "kscope_vfs_read_calls_total")) /
              window;

  // Scrapes: kscope on any CPU, as deployed (pinned, it would queue behind
  // whatever else runs on CPU 0).
  allow_all_cpus(k.pid());
  std::vector<double> ms;
  size_t bytes = 0;
  auto scrape_cpu0 = thread_cpu(k.pid());
  for (int i = 0; i < (o.quick ? o.scrapes / 5 : o.scrapes); i++) {
    auto t = Clock::now();
    auto r = test::http_get(*port, "/metrics");
    ms.push_back(seconds_since(t) * 1e3);
    if (r.status != 200) {
      rep.notes.push_back("scrape " + std::to_string(i) + " failed");
      break;
    }
    bytes = r.body.size();
  }
  double scrape_cpu_ms = 0;
  for (const auto& [tid, t] : thread_cpu(k.pid()))
    scrape_cpu_ms += (t.seconds - (scrape_cpu0.count(tid) ? scrape_cpu0[tid].seconds : 0)) * 1e3;
  scrape_cpu_ms /= static_cast<double>(std::max<size_t>(1, ms.size()));
  auto hwm = proc_status_kib(k.pid(), "VmHWM");
  auto rss = proc_status_kib(k.pid(), "VmRSS");
  auto t_stop = Clock::now();
  auto status = k.stop(SIGTERM, 20s);
  double stop_ms = seconds_since(t_stop) * 1e3;

  Table t({"", "value", "how"});
  t.add({"CPU idle", pct(idle.sched),
         "schedstat, " + fmt(idle.wall, 1) + " s; /proc/<pid>/stat says " + pct(idle.stat) +
             "; busiest thread " + idle.busiest});
  t.add({"CPU under load", pct(busy.sched),
         "schedstat, " + fmt(busy.wall, 1) + " s; /proc/<pid>/stat says " + pct(busy.stat) +
             "; busiest thread " + busy.busiest});
  t.add({"  load: 1 B reads/s", fmt(load_rate, 0),
         "on CPU " + std::to_string(load_cpu) + " (kscope on CPU " + std::to_string(kscope_cpu) +
             "); kscope counted " + fmt(counted, 0) + " reads/s, every process"});
  t.add({"peak RSS (VmHWM)", fmt(hwm.value_or(-1) / 1024.0, 1) + " MiB",
         "at the end; " + fmt(hwm_started.value_or(-1) / 1024.0, 1) +
             " MiB once started; VmRSS at the end " + fmt(rss.value_or(-1) / 1024.0, 1) + " MiB"});
  t.add({"scrape median", fmt(median(ms), 2) + " ms",
         std::to_string(ms.size()) + " scrapes, loopback, new connection each, " +
             std::to_string(bytes) + " B"});
  t.add({"scrape p99", fmt(percentile(ms, 99), 2) + " ms", "max " + fmt(percentile(ms, 100), 2)});
  t.add({"kscope CPU per scrape", fmt(scrape_cpu_ms, 2) + " ms",
         "all its threads over the scrapes (a sample included); the rest is waiting"});
  t.add({"SIGTERM to exit", fmt(stop_ms, 0) + " ms",
         "probes detached; exit status " + (status ? std::to_string(*status) : "none")});
  t.print();
  std::fflush(stdout);

  // Judge on schedstat (ns): /proc/<pid>/stat counts 10 ms ticks, 0.1% of
  // a 10 s window, as coarse as the targets themselves.
  rep.target("exporter CPU idle < 0.2% of one core", idle.sched < 0.002, pct(idle.sched));
  rep.target("exporter CPU at " + fmt(o.event_rate / 1000, 0) + "k events/s < 1% of one core",
             busy.sched < 0.01, pct(busy.sched) + " at " + fmt(load_rate / 1000, 0) + "k reads/s");
  if (hwm)
    rep.target("peak RSS < 20 MiB", *hwm < 20 * 1024, fmt(*hwm / 1024.0, 1) + " MiB");
  else
    rep.target("peak RSS < 20 MiB", std::nullopt, "no VmHWM");
  rep.target("scrape p99 < 5 ms", percentile(ms, 99) < 5, fmt(percentile(ms, 99), 2) + " ms");
}

// ---------------------------------------------------------- 5: start-up

void run_startup(const Options& o, Report& rep) {
  std::printf("\n5. Start-up: exec of %s to every probe attached; median of %d starts\n",
              o.kscope_binary.c_str(), o.quick ? 3 : o.startups);
  std::fflush(stdout);
  if (access(o.kscope_binary.c_str(), X_OK) != 0) {
    rep.notes.push_back("startup skipped: " + o.kscope_binary + " not built");
    return;
  }
  std::vector<double> listen, up, stop;
  for (int i = 0; i < (o.quick ? 3 : o.startups); i++) {
    auto t0 = Clock::now();
    Process k({o.kscope_binary, "--web.listen-address=127.0.0.1:0"});
    auto port = wait_port(k, 30s);
    if (!port) break;
    listen.push_back(seconds_since(t0) * 1e3);
    if (!wait_probes_up(*port, 30s)) {
      rep.notes.push_back("startup: probes not up:\n" + k.output());
      break;
    }
    up.push_back(seconds_since(t0) * 1e3);
    auto t1 = Clock::now();
    k.stop(SIGTERM, 20s);
    stop.push_back(seconds_since(t1) * 1e3);
  }
  Table t({"", "median", "min", "max"});
  auto row = [&](const std::string& name, const std::vector<double>& v) {
    t.add({name, fmt(median(v), 0) + " ms", fmt(percentile(v, 0), 0) + " ms",
           fmt(percentile(v, 100), 0) + " ms"});
  };
  row("exec to listening", listen);
  row("exec to every kscope_probe_up 1", up);
  row("SIGTERM to exit", stop);
  t.print();
  std::fflush(stdout);
}

// ---------------------------------------------------------- 6: cgroups

// n cgroups under the cgroup2 mount, a process in each doing one 1-byte
// read every 200 ms (so every cgroup's counts change at every sample) and,
// with forks_per_second > 0, forks of a child that exits at once, spread
// over the ticks (so the process module's counts change too); removed,
// processes and all, when it goes.
class BusyCgroups {
 public:
  BusyCgroups(const std::string& mount, int n, int forks_per_second)
      : top_(mount + "/kscope-bench-" + std::to_string(getpid())) {
    if (mkdir(top_.c_str(), 0755) != 0) die("mkdir " + top_);
    for (int i = 0; i < n; i++) {
      std::string dir = top_ + "/c" + std::to_string(i);
      if (mkdir(dir.c_str(), 0755) != 0) die("mkdir " + dir);
      dirs_.push_back(dir);
      pid_t pid = fork();
      if (pid < 0) die("fork");
      if (pid == 0) {
        if (!test::join_cgroup(dir)) _exit(3);
        // Spread over the 200 ms: 500 processes waking at once would keep
        // a run queue of hundreds that the sampling pass waits in.
        usleep(static_cast<useconds_t>(200'000LL * i / n));
        char c;
        for (int owed = 0;;) {
          (void)!read(g_zero_fd, &c, 1);
          for (owed += forks_per_second; owed >= 5; owed -= 5) {  // 5 ticks a second
            pid_t child = fork();
            if (child == 0) _exit(0);
            if (child > 0) waitpid(child, nullptr, 0);
          }
          usleep(200'000);
        }
      }
      pids_.push_back(pid);
    }
  }
  ~BusyCgroups() {
    for (pid_t p : pids_) kill(p, SIGKILL);
    for (pid_t p : pids_) waitpid(p, nullptr, 0);
    for (const auto& d : dirs_) rmdir(d.c_str());
    rmdir(top_.c_str());
  }
  BusyCgroups(const BusyCgroups&) = delete;
  BusyCgroups& operator=(const BusyCgroups&) = delete;

 private:
  std::string top_;
  std::vector<std::string> dirs_;
  std::vector<pid_t> pids_;
};

// What one load of section 6 gave.
struct CgroupLoadResult {
  double pass_ms = NAN;      // mean wall time of a sampling pass
  double pass_cpu_ms = NAN;  // the sampling thread's CPU time per pass
  double passes = 0, labeled = 0, cached = 0;
  std::optional<long> rss, hwm;
  double scrape_ms = NAN;
  size_t bytes = 0, lines = 0;
};

// CPU seconds of the kscope thread named kscope-sampler, if it is there.
std::optional<double> sampler_cpu(pid_t pid) {
  for (const auto& [tid, t] : thread_cpu(pid))
    if (t.comm == "kscope-sampler") return t.seconds;
  return std::nullopt;
}

// One fresh kscope with n busy cgroups (forks_per_second: see BusyCgroups).
std::optional<CgroupLoadResult> measure_cgroup_load(const Options& o, Report& rep,
                                                    const std::string& mount, int n,
                                                    int forks_per_second, double secs) {
  BusyCgroups cgroups(mount, n, forks_per_second);
  Process k({o.kscope_binary, "--web.listen-address=127.0.0.1:0"}, 0);
  auto port = wait_port(k, 30s);
  if (!port || !wait_probes_up(*port, 30s)) {
    rep.notes.push_back("cgroups skipped: kscope did not start with every probe up:\n" +
                        k.output());
    return std::nullopt;
  }
  std::this_thread::sleep_for(3s);  // every cgroup seen, slots handed out
  auto m0 = scrape(*port);
  auto cpu0 = sampler_cpu(k.pid());
  std::this_thread::sleep_for(std::chrono::duration<double>(secs));
  auto m1 = scrape(*port);
  auto cpu1 = sampler_cpu(k.pid());
  CgroupLoadResult r;
  std::vector<double> ms;
  for (int i = 0; i < 30; i++) {
    auto t = Clock::now();
    auto got = test::http_get(*port, "/metrics");
    ms.push_back(seconds_since(t) * 1e3);
    r.bytes = got.body.size();
    r.lines = static_cast<size_t>(std::count(got.body.begin(), got.body.end(), '\n'));
  }
  r.scrape_ms = median(ms);
  r.rss = proc_status_kib(k.pid(), "VmRSS");
  r.hwm = proc_status_kib(k.pid(), "VmHWM");
  if (!m0 || !m1) {
    rep.notes.push_back("cgroups: a scrape failed");
    return std::nullopt;
  }
  auto delta = [&](const std::string& name) { return (*m1)[name] - (*m0)[name]; };
  r.passes = delta("kscope_sample_duration_seconds_count");
  if (r.passes > 0) {
    r.pass_ms = delta("kscope_sample_duration_seconds_sum") / r.passes * 1e3;
    if (cpu0 && cpu1) r.pass_cpu_ms = (*cpu1 - *cpu0) / r.passes * 1e3;
  }
  r.labeled = (*m1)["kscope_cgroups"];
  r.cached = sum_series(*m1, "kscope_cgroup_cache_cgroups");
  return r;
}

void run_cgroups(const Options& o, Report& rep) {
  const int n = 500;
  const double secs = o.quick ? 5 : 15;
  std::printf(
      "\n6. %d busy cgroups: kscope (default configuration, max_cgroups 500) while %d\n"
      "   processes, each in a cgroup of its own, read 1 B every 200 ms (reads), and also\n"
      "   fork %d child(ren) a second that exit at once (reads+forks); %.0f s each\n",
      n, n, o.cgroup_forks, secs);
  std::fflush(stdout);
  auto mount = find_cgroup2_mount(read_text("/proc/self/mountinfo"));
  if (!mount) {
    rep.notes.push_back("cgroups skipped: no cgroup2 mount");
    return;
  }
  if (access(o.kscope_binary.c_str(), X_OK) != 0) {
    rep.notes.push_back("cgroups skipped: " + o.kscope_binary + " not built");
    return;
  }
  auto reads = measure_cgroup_load(o, rep, *mount, n, 0, secs);
  if (!reads) return;
  auto forks = measure_cgroup_load(o, rep, *mount, n, o.cgroup_forks, secs);
  if (!forks) return;

  auto mib = [](const std::optional<long>& kib) { return fmt(kib.value_or(-1) / 1024.0, 1); };
  Table t({"", "reads", "reads+forks", "how"});
  t.add({"sampling pass, wall", fmt(reads->pass_ms, 2) + " ms", fmt(forks->pass_ms, 2) + " ms",
         "mean of " + fmt(reads->passes, 0) + " and " + fmt(forks->passes, 0) +
             " passes (kscope_sample_duration_seconds)"});
  t.add({"sampling pass, CPU", fmt(reads->pass_cpu_ms, 2) + " ms",
         fmt(forks->pass_cpu_ms, 2) + " ms",
         "the kscope-sampler thread's schedstat over the same passes"});
  t.add({"labeled cgroups", fmt(reads->labeled, 0), fmt(forks->labeled, 0),
         "kscope_cgroups; on the cache's fast path, over the modules: " + fmt(reads->cached, 0) +
             " and " + fmt(forks->cached, 0)});
  t.add({"RSS", mib(reads->rss) + " MiB", mib(forks->rss) + " MiB",
         "after 30 scrapes; peak (VmHWM) " + mib(reads->hwm) + " and " + mib(forks->hwm) + " MiB"});
  t.add({"scrape median", fmt(reads->scrape_ms, 2) + " ms", fmt(forks->scrape_ms, 2) + " ms",
         std::to_string(reads->bytes) + " B, " + std::to_string(reads->lines) + " lines"});
  t.print();
  std::fflush(stdout);
  for (const auto& [what, r] : {std::pair{"reads", *reads}, std::pair{"reads+forks", *forks}}) {
    rep.target(std::string("sampling pass over 500 cgroups < 5 ms (") + what + ")", r.pass_ms < 5,
               fmt(r.pass_ms, 2) + " ms wall, " + fmt(r.pass_cpu_ms, 2) + " ms CPU");
    if (r.rss)
      rep.target(std::string("RSS with 500 live cgroups < 30 MiB (") + what + ")",
                 *r.rss < 30 * 1024, mib(r.rss) + " MiB");
    else
      rep.target(std::string("RSS with 500 live cgroups < 30 MiB (") + what + ")", std::nullopt,
                 "no VmRSS");
  }
}

// ------------------------------------------------------------------- main

const char* const kUsage = R"(usage: kscope_bench [flags]   (as root)
  --quick             a quarter of the calls, 2 rounds x 2, 5 s CPU windows (~1 min)
  --only=a,b          sections: traced, untraced, two-cpu, exporter, startup, cgroups
  --rounds=N          attach cycles per variant (default 3; --quick 2)
  --repeats=N         measurements per attach (default 3; --quick 2)
  --cpu=N             CPU of the single-CPU measurements (default: the last one)
  --clock=cpu|wall    time a call by the caller's CPU time (default; plus its reaped
                      children's: fork) or by the wall clock (includes waiting for a CPU)
  --no-bpftrace       skip the bpftrace variant
  --kscope=PATH       the kscope binary (default: the one built with this)
  --cgroup-forks=N    section 6: forks a second per busy cgroup in its second load (default 1)
)";

Options parse(int argc, char** argv) {
  Options o;
  bool rounds_given = false, repeats_given = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::optional<std::string> {
      if (a.starts_with(flag + "=")) return a.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--no-bpftrace") {
      o.bpftrace = false;
    } else if (auto v = value("--only")) {
      std::istringstream in(*v);
      for (std::string s; std::getline(in, s, ',');) {
        static const std::set<std::string> known{"traced",   "untraced", "two-cpu",
                                                 "exporter", "startup",  "cgroups"};
        if (!known.count(s)) throw std::invalid_argument("unknown section " + s);
        o.only.insert(s);
      }
    } else if (auto v = value("--rounds")) {
      o.rounds = std::stoi(*v);
      rounds_given = true;
    } else if (auto v = value("--repeats")) {
      o.repeats = std::stoi(*v);
      repeats_given = true;
    } else if (auto v = value("--clock")) {
      if (*v != "cpu" && *v != "wall") throw std::invalid_argument("--clock is cpu or wall");
      g_wall_clock = *v == "wall";
    } else if (auto v = value("--cpu")) {
      o.cpu = std::stoi(*v);
    } else if (auto v = value("--kscope")) {
      o.kscope_binary = *v;
    } else if (auto v = value("--cgroup-forks")) {
      o.cgroup_forks = std::stoi(*v);
      if (o.cgroup_forks < 1) throw std::invalid_argument("--cgroup-forks: at least 1");
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown flag " + a);
    }
  }
  if (o.quick && !rounds_given) o.rounds = 2;
  if (o.quick && !repeats_given) o.repeats = 2;
  if (o.rounds < 1 || o.repeats < 1) throw std::invalid_argument("--rounds, --repeats: at least 1");
  if (o.cpu < 0) o.cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  return o;
}

int run(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (geteuid() != 0) {
    std::fprintf(stderr, "kscope_bench: needs root to load BPF programs\n");
    return 1;
  }
  set_log_level(LogLevel::kError);  // libbpf's chatter off the tables
  route_libbpf_log();
  g_zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (g_zero_fd < 0) die("open /dev/zero");
  if (!pin_thread(o.cpu)) die("pin to CPU " + std::to_string(o.cpu));
  Forker forker;  // first, while this process is small
  print_machine();
  auto t0 = Clock::now();

  Report rep;
  if (o.wants("traced") || o.wants("untraced")) run_syscalls(o, forker, rep);
  if (o.wants("two-cpu")) run_two_cpus(o, rep);
  if (o.wants("exporter")) run_exporter(o, rep);
  if (o.wants("startup")) run_startup(o, rep);
  if (o.wants("cgroups")) run_cgroups(o, rep);

  std::printf("\nTargets\n");
  for (const auto& t : rep.targets)
    std::printf("  %-10s %s: %s\n", t.status.c_str(), t.what.c_str(), t.detail.c_str());
  for (const auto& n : rep.notes) std::printf("  note: %s\n", n.c_str());
  std::printf("Done in %.0f s; load average now %s\n", seconds_since(t0),
              read_text("/proc/loadavg").substr(0, 14).c_str());
  return 0;
}

}  // namespace
}  // namespace kscope::bench

int main(int argc, char** argv) {
  try {
    return kscope::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kscope_bench: %s (try --help)\n", e.what());
    return 2;
  }
}
