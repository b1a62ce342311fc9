// Shared by the tests that load the real BPF programs in this process.
#pragma once

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "collector.h"
#include "config.h"
#include "log.h"

namespace kscope::test {

// Why BPF cannot run here, or nullopt when it can.
inline std::optional<std::string> bpf_unavailable() {
  if (geteuid() != 0) return "needs root (CAP_BPF and CAP_PERFMON) to load BPF programs";
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return "kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load";
  return std::nullopt;
}

#define KSCOPE_REQUIRE_BPF()                                                \
  do {                                                                      \
    if (auto why = ::kscope::test::bpf_unavailable()) GTEST_SKIP() << *why; \
  } while (0)

// Runs every RCU callback queued so far (rcu_barrier()), the lazy ones of
// CONFIG_RCU_LAZY included, which may otherwise wait 10 s or more: a reaped
// task's release (sched_process_free) is one. False where the kernel has no
// such knob (then waiting is all a test can do).
inline bool flush_rcu_callbacks() {
  FILE* f = fopen("/sys/module/rcutree/parameters/do_rcu_barrier", "w");
  if (!f) return false;
  bool ok = fputs("1", f) >= 0;
  return fclose(f) == 0 && ok;
}

// The attach family the BPF tests use: KSCOPE_TEST_ATTACH (auto, fentry,
// kprobe, tracepoint; the kernel matrix in test/vm runs every one), or auto.
inline Attach test_attach() {
  const char* env = getenv("KSCOPE_TEST_ATTACH");
  if (!env || !*env) return Attach::kAuto;
  auto a = parse_attach(env);
  if (!a) throw std::invalid_argument(std::string("KSCOPE_TEST_ATTACH: unknown family ") + env);
  return *a;
}

// One collector, counting only this process (and its children), attached
// with test_attach() unless `attach` says otherwise.
struct Probe {
  Probe(const std::string& module, Mode mode, std::optional<Attach> attach = std::nullopt,
        const std::string& btf_path = "") {
    route_libbpf_log();  // libbpf's details only at debug level, as in kscope
    if (const char* level = getenv("KSCOPE_TEST_LOG_LEVEL")) {  // e.g. debug, in the VMs
      if (auto l = parse_log_level(level)) set_log_level(*l);
    }
    config = default_config(collector_names());
    config.mode = mode;
    config.modules[module].attach = attach.value_or(test_attach());
    if (!btf_path.empty()) config.btf_path = btf_path;
    CollectorContext ctx{registry, config, static_cast<uint32_t>(getpid())};
    collector = collector_factories().at(module)(ctx);
    collector->start();
    // An explicit family either attaches or throws: never another one.
    Attach wanted = config.modules[module].attach;
    if (wanted != Attach::kAuto) {
      EXPECT_EQ(family(), attach_name(wanted));
    }
  }
  const std::string& family() const { return collector->attachment().family; }
  // Value of a counter or gauge without labels; nullopt when the family is absent.
  std::optional<double> value(const std::string& name) {
    for (const auto& f : registry.Collect()) {
      if (f.name != name || f.metric.empty()) continue;
      const auto& m = f.metric[0];
      return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
    return std::nullopt;
  }
  const prometheus::ClientMetric::Histogram* histogram(const std::string& name) {
    families_ = registry.Collect();
    for (const auto& f : families_)
      if (f.name == name && !f.metric.empty()) return &f.metric[0].histogram;
    return nullptr;
  }
  double delta(const std::string& name, double before) { return value(name).value_or(-1) - before; }

  prometheus::Registry registry;
  Config config;
  std::unique_ptr<Collector> collector;
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace kscope::test
