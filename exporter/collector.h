// A probe module's user-space half. Each collectors/<name>.cpp ends with
// KSCOPE_REGISTER(<name>, Class); main builds the enabled ones from here.
#pragma once

#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bpf/object.h"
#include "config.h"

namespace kscope {

class CgroupAttribution;

struct CollectorContext {
  prometheus::Registry& registry;
  const Config& config;
  // 0: count every task. Otherwise only this process and its children
  // (tests; the BPF side's targ_tgid).
  uint32_t target_tgid = 0;
  // Per-cgroup counting when set; node-wide totals when null.
  CgroupAttribution* attribution = nullptr;
  // cgroup ids each module's map holds before the overflow key takes the
  // rest; 0: the default, from max_cgroups (tests make it tiny).
  uint32_t cgroup_map_entries = 0;
};

class Collector {
 public:
  virtual ~Collector() = default;
  // Loads and attaches the BPF programs, then registers the metric families
  // the mode yields (none before: a failed probe publishes nothing). Throws Error.
  virtual void start() = 0;
  // Reads the kernel's counters and moves the metrics forward. Throws Error.
  virtual void sample() = 0;
  // Reads what the module costs the kernel (kscope_bpf_*). Apart from
  // sample(): it reads files, which must not show in the module's own
  // exact counts of the process under test. Throws Error.
  virtual void sample_kernel_usage() {}
  // After start(): the attach family in use and what auto refused first.
  virtual const Attachment& attachment() const = 0;
};

using CollectorFactory = std::function<std::unique_ptr<Collector>(const CollectorContext&)>;

bool register_collector(const std::string& name, CollectorFactory factory);
const std::map<std::string, CollectorFactory>& collector_factories();
std::set<std::string> collector_names();

}  // namespace kscope

#define KSCOPE_REGISTER(name, Class)                                                             \
  static const bool kscope_registered_##name = ::kscope::register_collector(                     \
      #name, [](const ::kscope::CollectorContext& ctx) -> std::unique_ptr<::kscope::Collector> { \
        return std::make_unique<Class>(ctx);                                                     \
      })
