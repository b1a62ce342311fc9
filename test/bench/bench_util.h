// Small helpers of kscope_bench: statistics, CPU pinning, /proc readings,
// BPF program lookups and statistics, child processes, text tables.
#pragma once

#include <bpf/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process_collector.h"

namespace kscope::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  // Nearest rank: p99 of 1,000 samples is the 990th smallest.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

inline double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Pins the calling thread; false when the CPU does not exist or is not allowed.
inline bool pin_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

// Lets every thread of a process run on any CPU again.
inline void allow_all_cpus(pid_t pid) {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); c++) CPU_SET(c, &all);
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    sched_setaffinity(std::stoi(t.path().filename().string()), sizeof(all), &all);
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

// utime + stime of a whole process (all its threads, live and dead), in seconds.
inline std::optional<double> process_cpu_seconds(pid_t pid) {
  auto stat = parse_proc_stat(read_text("/proc/" + std::to_string(pid) + "/stat"));
  if (!stat) return std::nullopt;
  return static_cast<double>(stat->utime_ticks + stat->stime_ticks) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct ThreadCpu {
  std::string comm;
  double seconds = 0;
};

// On-CPU time of each live thread of a process from schedstat, by tid: ns
// resolution, where /proc/<pid>/stat counts 10 ms ticks.
inline std::map<pid_t, ThreadCpu> thread_cpu(pid_t pid) {
  std::map<pid_t, ThreadCpu> out;
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::istringstream in(read_text(t.path().string() + "/schedstat"));
    unsigned long long ns;
    if (!(in >> ns)) continue;
    std::string comm = read_text(t.path().string() + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out[std::stoi(t.path().filename().string())] = {comm, static_cast<double>(ns) / 1e9};
  }
  return out;
}

// A "Key:   123 kB" line of /proc/<pid>/status, in KiB.
inline std::optional<long> proc_status_kib(pid_t pid, const std::string& key) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key + ":")) return std::stol(line.substr(key.size() + 1));
  return std::nullopt;
}

struct ProgSize {
  uint32_t id = 0, insns = 0, jited_bytes = 0;
};

inline std::optional<bpf_prog_info> prog_info(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return std::nullopt;
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  int err = bpf_obj_get_info_by_fd(fd, &info, &len);
  close(fd);
  if (err != 0) return std::nullopt;
  return info;
}

// The program among `ids` with this (kernel, 15-char) name.
inline std::optional<ProgSize> find_prog(const std::vector<uint32_t>& ids,
                                         const std::string& name) {
  for (uint32_t id : ids)
    if (auto info = prog_info(id); info && name == info->name)
      return ProgSize{id, info->xlated_prog_len / 8, info->jited_prog_len};
  return std::nullopt;
}

// Ids of the BPF programs a process holds open ("prog_id:" in the fdinfo of
// its program fds): exactly its own, even while others load programs too.
inline std::vector<uint32_t> prog_ids_held_by(pid_t pid) {
  std::vector<uint32_t> ids;
  std::error_code ec;
  for (const auto& f :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fdinfo", ec)) {
    std::istringstream in(read_text(f.path().string()));
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("prog_id:")) ids.push_back(std::stoul(line.substr(8)));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Time spent inside each of programs `ids` while `run` runs, and its runs,
// from the kernel's BPF statistics (on only meanwhile: they cost every
// program two clock reads, which the times include, as much for an empty
// program).
struct ProgTime {
  double ns = 0;
  uint64_t runs = 0;
};

template <typename F>
std::map<uint32_t, ProgTime> prog_time(const std::vector<uint32_t>& ids, F run) {
  std::map<uint32_t, ProgTime> t;
  int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats < 0) return t;
  for (uint32_t id : ids)
    if (auto info = prog_info(id)) t[id] = {-static_cast<double>(info->run_time_ns), info->run_cnt};
  run();
  for (auto& [id, pt] : t)
    if (auto info = prog_info(id))
      pt = {pt.ns + static_cast<double>(info->run_time_ns), info->run_cnt - pt.runs};
  close(stats);
  return t;
}

// ns inside the programs per call of a workload that made `calls` calls. The
// hooks are system-wide and other processes' events run the programs too:
// each program counts for its mean run time times its runs per call,
// rounded (1 for the read program during reads, 0 for the write program).
inline double prog_ns_per_call(const std::map<uint32_t, ProgTime>& t, long calls) {
  double ns = 0;
  for (const auto& [id, pt] : t) {
    double per_call = std::round(static_cast<double>(pt.runs) / static_cast<double>(calls));
    if (per_call > 0) ns += per_call * pt.ns / static_cast<double>(pt.runs);
  }
  return ns;
}

// First line of a command's output (popen), trimmed; "" on failure.
inline std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (fgets(buf, sizeof(buf), p)) out += buf;
    pclose(p);
  }
  return out;
}

// Fixed-width text table: first column left-aligned, the rest right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const {
    std::vector<size_t> w;
    for (const auto& r : rows_) {
      if (w.size() < r.size()) w.resize(r.size(), 0);
      for (size_t i = 0; i < r.size(); i++) w[i] = std::max(w[i], r[i].size());
    }
    for (const auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); i++) {
        std::string pad(w[i] - r[i].size(), ' ');
        line += i == 0 ? r[i] + pad : "  " + pad + r[i];
      }
      std::printf("  %s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

inline std::string fmt(double v, int decimals = 1) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// A child process (bpftrace, the kscope binary) with stdout and stderr in a
// temporary file, optionally pinned to a CPU. Unlike test::Child it reaps
// with 1 ms resolution (shutdown times) and never signals a reaped pid.
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv, int cpu = -1) {
    char tmpl[] = "/tmp/kscope-bench-XXXXXX";
    int out = mkstemp(tmpl);
    out_path_ = tmpl;
    pid_ = fork();
    if (pid_ == 0) {
      if (cpu >= 0) pin_thread(cpu);
      // A shell starts background jobs with SIGINT ignored, and exec keeps
      // that: bpftrace must see the SIGINT that stops it.
      signal(SIGINT, SIG_DFL);
      dup2(out, 1);
      dup2(out, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out);
  }
  ~Process() {
    if (running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    unlink(out_path_.c_str());
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  std::string output() const { return read_text(out_path_); }
  bool running() {
    int st;
    if (!reaped_ && pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return pid_ > 0 && !reaped_;
  }
  // Sends sig and waits up to timeout; the exit status (128+signal when
  // killed), or nullopt if still running.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout) {
    if (running()) kill(pid_, sig);
    auto until = Clock::now() + timeout;
    while (running() && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (running()) return std::nullopt;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::string out_path_;
};

}  // namespace kscope::bench
