// What a loaded BPF object costs in the kernel, where the process's RSS
// does not show it: the memory of its maps, and (with the kernel's BPF
// run-time statistics on) the time its programs run.
#pragma once

#include <bpf/libbpf.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bpf/object.h"

namespace kscope {

// The "memlock:" field of a /proc/<pid>/fdinfo/<fd> text: the kernel's
// figure for a BPF map's memory (since 6.4 what the map holds now; before,
// what its size may reach). nullopt when absent.
std::optional<uint64_t> parse_fdinfo_memlock(std::string_view fdinfo);

// Turns on the kernel's BPF run-time statistics (BPF_ENABLE_STATS) for as
// long as the returned Fd is open: to kscope's exit, whatever the exit.
// Needs CAP_SYS_ADMIN. Throws Error.
Fd enable_bpf_run_stats();

// A map's name as kscope labels it: internal maps lose libbpf's object
// prefix ("fd_bpf.rodata" -> ".rodata").
std::string map_label(const std::string& libbpf_name);

// Publishes kscope_bpf_map_bytes{probe,map} for every map of obj and, with
// run_stats, kscope_bpf_program_run_seconds_total{probe} and
// kscope_bpf_program_runs_total{probe} summed over its loaded programs.
class KernelUsage {
 public:
  KernelUsage(prometheus::Registry& registry, const std::string& probe, bpf_object* obj,
              bool run_stats);
  // Reads the figures again (at each sample). Throws Error.
  void update();

 private:
  // Each map's /proc/self/fdinfo file, opened once and re-read with pread:
  // an open() per sample would count in kscope's own fd metrics (and in
  // the BPF tests' exact per-process counts).
  std::vector<std::pair<Fd, prometheus::Gauge*>> maps_;
  std::vector<int> programs_;  // fds
  prometheus::Counter* run_seconds_ = nullptr;
  prometheus::Counter* runs_ = nullptr;
  uint64_t run_ns_last_ = 0, runs_last_ = 0;
};

}  // namespace kscope
