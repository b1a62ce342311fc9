#include "bpf/kernel_usage.h"

#include <bpf/bpf.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "bpf/error.h"

namespace kscope {
namespace {

Fd open_fdinfo(int fd) {
  std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.get() < 0) throw Error("open " + path, errno);
  return f;
}

// fdinfo is regenerated at each read from offset 0.
uint64_t map_bytes(const Fd& fdinfo) {
  char buf[4096];
  ssize_t n = pread(fdinfo.get(), buf, sizeof(buf) - 1, 0);
  if (n < 0) throw Error("read BPF map fdinfo", errno);
  auto bytes = parse_fdinfo_memlock(std::string_view(buf, static_cast<size_t>(n)));
  if (!bytes) throw Error("read memlock of a BPF map in its fdinfo", ENOENT);
  return *bytes;
}

}  // namespace

std::optional<uint64_t> parse_fdinfo_memlock(std::string_view fdinfo) {
  // Read at every pass for every map: no stream, no copies.
  constexpr std::string_view kKey = "memlock:";
  for (size_t at = 0; at < fdinfo.size();) {
    size_t end = fdinfo.find('\n', at);
    std::string_view line = fdinfo.substr(at, end == std::string_view::npos ? end : end - at);
    at = end == std::string_view::npos ? fdinfo.size() : end + 1;
    if (!line.starts_with(kKey)) continue;
    size_t digits = line.find_first_of("0123456789");
    uint64_t value = 0;
    if (digits == std::string_view::npos) return std::nullopt;
    auto [ptr, ec] = std::from_chars(line.data() + digits, line.data() + line.size(), value);
    if (ec != std::errc()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

Fd enable_bpf_run_stats() {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0)
    throw Error("bpf_stats: turn on the kernel's BPF run-time statistics (BPF_ENABLE_STATS)", errno,
                errno == EPERM ? "it needs CAP_SYS_ADMIN" : "");
  return Fd(fd);
}

std::string map_label(const std::string& libbpf_name) {
  auto dot = libbpf_name.find('.');
  return dot == std::string::npos ? libbpf_name : libbpf_name.substr(dot);
}

KernelUsage::KernelUsage(prometheus::Registry& registry, const std::string& probe, bpf_object* obj,
                         bool run_stats) {
  auto& bytes = prometheus::BuildGauge()
                    .Name("kscope_bpf_map_bytes")
                    .Help(
                        "Kernel memory of each of kscope's BPF maps, from the kernel's memlock "
                        "figure; not part of the process's resident memory.")
                    .Register(registry);
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (bpf_map__fd(map) < 0) continue;  // not created: its program was not loaded
    maps_.emplace_back(open_fdinfo(bpf_map__fd(map)),
                       &bytes.Add({{"probe", probe}, {"map", map_label(bpf_map__name(map))}}));
  }
  if (!run_stats) return;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (bpf_program__fd(prog) >= 0) programs_.push_back(bpf_program__fd(prog));
  }
  prometheus::Labels labels{{"probe", probe}};
  run_seconds_ = &prometheus::BuildCounter()
                      .Name("kscope_bpf_program_run_seconds_total")
                      .Help(
                          "Time the probe's BPF programs ran in the kernel, from the kernel's "
                          "BPF run-time statistics (bpf_stats: true).")
                      .Register(registry)
                      .Add(labels);
  runs_ = &prometheus::BuildCounter()
               .Name("kscope_bpf_program_runs_total")
               .Help("Runs of the probe's BPF programs (bpf_stats: true).")
               .Register(registry)
               .Add(labels);
}

void KernelUsage::update() {
  for (auto& [fd, gauge] : maps_) gauge->Set(static_cast<double>(map_bytes(fd)));
  if (!runs_) return;
  uint64_t run_ns = 0, runs = 0;
  for (int fd : programs_) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
      throw Error("read BPF program statistics", errno);
    run_ns += info.run_time_ns;
    runs += info.run_cnt;
  }
  // Monotonic while the statistics stay on, and kscope holds them on.
  if (run_ns > run_ns_last_)
    run_seconds_->Increment(static_cast<double>(run_ns - run_ns_last_) / 1e9);
  if (runs > runs_last_) runs_->Increment(static_cast<double>(runs - runs_last_));
  run_ns_last_ = std::max(run_ns_last_, run_ns);
  runs_last_ = std::max(runs_last_, runs);
}

}  // namespace kscope
