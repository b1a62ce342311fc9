// kscope: flags -> config -> web -> probes -> sampler -> wait for a signal.
// The one place that reports errors and picks the exit code.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "bpf/error.h"
#include "cgroup/attribution.h"
#include "cgroup/rmdir_watch.h"
#include "cli.h"
#include "collector.h"
#include "config.h"
#include "landing.h"
#include "log.h"
#include "process_collector.h"
#include "sampler.h"
#include "self_metrics.h"
#include "top/top.h"
#include "version.h"
#include "web.h"
#include "web_config.h"

namespace kscope {
namespace {

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

int run(const std::vector<std::string>& args, const std::string& program) {
  // Each scrape builds the whole exposition (megabytes with many cgroups)
  // and frees it: serve such blocks from mmap so they go back to the
  // system, instead of raising the heap's high-water mark for good.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  Flags flags = parse_flags(args);
  if (flags.show_help) {
    std::cout << usage_text(program)
              << "\nCommands:\n  top [<flags>]              Live per-second view in the terminal "
                 "(top --help).\n";
    return 0;
  }
  if (flags.show_version) {
    BuildInfo b = current_build_info();
    std::cout << "kscope version " << b.version << " (revision " << b.revision << ", libbpf "
              << b.libbpf_version << ")\n";
    return 0;
  }
  WebConfig web_config;
  if (!flags.web_config_file.empty()) web_config = load_web_config(flags.web_config_file);
  civetweb_listening_port(flags.listen_address);  // validate before touching the kernel
  set_log_level(flags.log_level);
  route_libbpf_log();

  std::set<std::string> modules = collector_names();
  Config config = flags.config_file.empty() ? default_config(modules)
                                            : load_config_file(flags.config_file, modules);

  // Signals are taken by sigwait() below, never by another thread. A shell
  // starts background jobs with SIGINT ignored, and sigwait() never sees an
  // ignored signal: restore the default first (blocked, so it cannot kill).
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto registry = std::make_shared<prometheus::Registry>();
  auto self_process = std::make_shared<SelfProcessCollector>();
  SelfMetrics self(*registry, current_build_info());

  std::mutex states_mu;
  std::map<std::string, ProbeState> states;
  WebServer web(
      flags.listen_address, flags.telemetry_path,
      [&] {
        std::lock_guard lock(states_mu);
        return Status{KSCOPE_VERSION, flags.telemetry_path, config, states};
      },
      web_config);
  web.add(registry);
  web.add(self_process);
  std::string ports;
  for (int p : web.ports()) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  log_info("kscope " KSCOPE_VERSION " listening on " + flags.listen_address + " (port " + ports +
           "), metrics at " + flags.telemetry_path + ", mode " + mode_name(config.mode));

  // Attribution needs the cgroup2 mount; without one, node-wide totals.
  std::shared_ptr<CgroupAttribution> attribution;
  std::unique_ptr<RmdirWatch> removal_watch;
  if (config.attribution == Attribution::kCgroup) {
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string text((std::istreambuf_iterator<char>(mountinfo)), {});
    if (auto root = find_cgroup2_mount(text)) {
      attribution = std::make_shared<CgroupAttribution>(*root, config.max_cgroups,
                                                        config.pods_log_dir, *registry);
      web.add(attribution, /*counts_scrapes=*/true);
      try {
        removal_watch = std::make_unique<RmdirWatch>();
        attribution->set_removal_source([w = removal_watch.get()] { return w->drain(); });
      } catch (const std::exception& e) {
        log_warn(std::string(e.what()) + ": checking each busy cgroup at every sample instead");
      }
      log_info("attributing to cgroups under " + *root + " (at most " +
               std::to_string(config.max_cgroups) + " series, then cgroup=\"other\")");
    } else {
      log_warn("no cgroup2 mount in /proc/self/mountinfo: attribution off, node-wide totals");
    }
  }
  CollectorContext ctx{*registry, config, 0, attribution.get()};
  std::map<std::string, std::unique_ptr<Collector>> running;
  for (const auto& [name, factory] : collector_factories()) {
    if (!config.module_enabled(name)) continue;
    auto collector = factory(ctx);
    ProbeState state;
    try {
      collector->start();
      state = {true, "attached via " + join(collector->attach_kinds())};
      self.probe_attached(name, collector->attach_kinds());
      running.emplace(name, std::move(collector));
      log_info(name + ": " + state.detail);
    } catch (const std::exception& e) {
      state = {false, e.what()};
      log_error(e.what());
    }
    self.probe_up(name, state.up);
    std::lock_guard lock(states_mu);
    states[name] = state;
  }

  {
    std::map<std::string, Collector*> sampled;
    for (auto& [name, c] : running) sampled.emplace(name, c.get());
    Sampler sampler(std::move(sampled), self, config.sample_interval, attribution.get());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info(std::string("received ") + strsignal(sig) + ", detaching probes");
  }
  running.clear();  // detach before the web server goes
  return 0;
}

}  // namespace
}  // namespace kscope

int main(int argc, char** argv) {
  using namespace kscope;
  std::string program = argc > 0 ? argv[0] : "kscope";
  try {
    // A subcommand comes first, before any flag: kscope top [<flags>].
    if (argc > 1 && std::strcmp(argv[1], "top") == 0)
      return run_top(std::vector<std::string>(argv + 2, argv + argc), program);
    return run(std::vector<std::string>(argv + 1, argv + argc), program);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "kscope: error: %s (try --help)\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "kscope: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kscope: error: %s\n", e.what());
    return 1;
  }
}
