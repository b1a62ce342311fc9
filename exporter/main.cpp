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
#include <thread>

#include "bpf/attach.h"
#include "bpf/error.h"
#include "bpf/kernel_usage.h"
#include "cgroup/attribution.h"
#include "cgroup/rmdir_watch.h"
#include "cli.h"
#include "collector.h"
#include "config.h"
#include "landing.h"
#include "log.h"
#include "malloc_tuning.h"
#include "privileges.h"
#include "process_collector.h"
#include "sampler.h"
#include "self_metrics.h"
#include "top/top.h"
#include "version.h"
#include "web.h"
#include "web_config.h"

namespace kscope {
namespace {

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

  // Before anything is loaded or listened on: a missing capability is one
  // line naming it, not each probe failing with EPERM.
  PrivilegeNeeds needs{false, false, config.bpf_stats};
  for (const auto& name : modules) {
    if (!config.module_enabled(name)) continue;
    needs.bpf = true;
    Attach attach = config.module_attach(name);
    needs.tracefs |= attach == Attach::kAuto || attach == Attach::kTracepoint;
  }
  check_privileges(needs);
  check_can_listen(flags.listen_address);  // it listens after loading: a taken port says so first

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

  // Attribution needs the cgroup2 mount; without one, node-wide totals.
  std::shared_ptr<CgroupAttribution> attribution;
  std::unique_ptr<RmdirWatch> removal_watch;
  if (config.attribution == Attribution::kCgroup) {
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string text((std::istreambuf_iterator<char>(mountinfo)), {});
    if (auto root = find_cgroup2_mount(text)) {
      attribution = std::make_shared<CgroupAttribution>(*root, config.max_cgroups,
                                                        config.pods_log_dir, *registry);
      try {
        removal_watch = std::make_unique<RmdirWatch>();
        malloc_trim(0);  // its load parsed the kernel's BTF, as each module's does below
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
  // On for kscope's lifetime only: the kernel turns them off when this fd
  // closes, at any exit, kill -9 included.
  Fd run_stats = config.bpf_stats ? enable_bpf_run_stats() : Fd();
  if (config.bpf_stats) log_info("BPF run-time statistics on (bpf_stats: true)");
  CollectorContext ctx{*registry, config, 0, attribution.get()};
  std::map<std::string, std::unique_ptr<Collector>> running;
  for (const auto& [name, factory] : collector_factories()) {
    if (!config.module_enabled(name)) continue;
    auto collector = factory(ctx);
    ProbeState state;
    try {
      collector->start();
      const Attachment& a = collector->attachment();
      state = {true, "attached via " + a.family};
      if (config.module_attach(name) == Attach::kAuto)
        state.detail += auto_choice_note(a.family, a.refused);
      self.probe_attached(name, {a.family});
      running.emplace(name, std::move(collector));
      log_info(name + ": " + state.detail);
    } catch (const std::exception& e) {
      state = {false, e.what()};
      log_error(e.what());
    }
    self.probe_up(name, state.up);
    {
      std::lock_guard lock(states_mu);
      states[name] = state;
    }
    // Each load parsed the kernel's BTF (megabytes, freed since): give the
    // pages back before the next one, so the start-up peak is one parse's,
    // not their sum over the heap's fragments.
    malloc_trim(0);
  }

  // Listening only now: each load above parsed the kernel's BTF (about 11
  // MiB for a moment), and civetweb's 512 workers hold about 8 MiB of
  // stacks from their start. One after the other, the start-up peak is the
  // larger of the two, not their sum.
  auto web = std::make_unique<WebServer>(
      flags.listen_address, flags.telemetry_path,
      [&] {
        std::lock_guard lock(states_mu);
        return Status{KSCOPE_VERSION, flags.telemetry_path, config, states};
      },
      web_config);
  web->add(registry);
  web->add(self_process);
  if (attribution) web->add(attribution, /*counts_scrapes=*/true);
  std::string ports;
  for (int p : web->ports()) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  log_info("kscope " KSCOPE_VERSION " listening on " + flags.listen_address + " (port " + ports +
           "), metrics at " + flags.telemetry_path + ", mode " + mode_name(config.mode));

  {
    std::map<std::string, Collector*> sampled;
    for (auto& [name, c] : running) sampled.emplace(name, c.get());
    Sampler sampler(std::move(sampled), self, config.sample_interval, attribution.get());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info(std::string("received ") + strsignal(sig) + ", detaching probes");
  }
  // Stop serving and detach the modules side by side: the kernel waits for
  // RCU grace periods at each syscall tracepoint it leaves (~50 ms each, one
  // at a time), civetweb for its threads, and the waits of different
  // threads overlap (SIGTERM to exit: 2-3 s before, 1.1-1.3 s now;
  // RELIABILITY.md).
  auto detach_start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> stopping;
    stopping.emplace_back([w = std::move(web)]() mutable { w.reset(); });
    for (auto& [name, c] : running)
      stopping.emplace_back([c = std::move(c)]() mutable { c.reset(); });
  }
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - detach_start;
  log_info("stopped serving and detached probes in " +
           std::to_string(static_cast<int>(took.count())) + " ms");
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
    restart_with_tcache_off(argv);
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
