// kscope's YAML configuration: every key has a default, so no file is needed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace kscope {

// return: exit-side hooks (calls, errors, bytes, sizes). entry: enter-side
// hooks only (calls), cheaper, no errors/bytes/sizes.
enum class Mode { kReturn, kEntry };

const char* mode_name(Mode m);

// How a module's programs hook the kernel. auto: the cheapest that loads
// and attaches on the running kernel (fentry, then tracepoint, then kprobe).
enum class Attach { kAuto, kFentry, kKprobe, kTracepoint };

const char* attach_name(Attach a);
// "auto", "fentry", "kprobe", "tracepoint"; nullopt for anything else.
std::optional<Attach> parse_attach(const std::string& name);

struct ModuleConfig {
  bool enabled = true;
  Attach attach = Attach::kAuto;
};

// cgroup: every counter gains a `cgroup` label, counted per cgroup v2 in
// the kernel. none: node-wide totals only (cheapest).
enum class Attribution { kCgroup, kNone };

const char* attribution_name(Attribution a);

struct Config {
  std::chrono::milliseconds sample_interval{1000};
  Mode mode = Mode::kReturn;
  Attribution attribution = Attribution::kCgroup;
  // Live `cgroup` label values at most; more cgroups count as cgroup="other".
  uint32_t max_cgroups = 500;
  // Kubelet's pod log directories (<namespace>_<pod>_<uid>): pod names
  // without asking the Kubernetes API.
  std::string pods_log_dir = "/var/log/pods";
  static constexpr const char* kKernelBtfPath = "/sys/kernel/btf/vmlinux";
  // The running kernel's BTF: fentry/fexit, BTF tracepoints, iterators and
  // CO-RE need it. Missing: those programs refuse, the others still run.
  std::string btf_path = kKernelBtfPath;
  // The kernel's BPF run-time statistics (BPF_ENABLE_STATS) on for kscope's
  // lifetime: kscope_bpf_program_run{s,_seconds}_total. They cost every BPF
  // program on the machine a little per run (BENCHMARKS.md), and turning
  // them on needs CAP_SYS_ADMIN.
  bool bpf_stats = false;
  // One entry per known module; modules absent from the file keep defaults.
  std::map<std::string, ModuleConfig> modules;

  bool module_enabled(const std::string& name) const;
  Attach module_attach(const std::string& name) const;
};

// Bad configuration. what() is one line: "<source>:<line>: <key>: <problem>"
// (line omitted when yaml-cpp does not know it).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// s with control characters escaped (\n, \t, \xNN), so that keys and
// yaml-cpp messages echoed in a ConfigError keep it one line.
std::string escape_controls(const std::string& s);

// known_modules: names of the compiled-in probe modules; other names under
// `modules:` are errors. Throws ConfigError.
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::set<std::string>& known_modules);
Config load_config_file(const std::string& path, const std::set<std::string>& known_modules);
// Defaults with every known module enabled (no --config.file given).
Config default_config(const std::set<std::string>& known_modules);

// The effective configuration as YAML (for the landing page and --help docs).
std::string to_yaml(const Config& config);

}  // namespace kscope
