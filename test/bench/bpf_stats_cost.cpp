// kscope_bpf_stats_bench: what `bpf_stats: true` costs a traced syscall.
// With kscope's vfs probe attached (every task counted, node-wide), it times
// read(fd, buf, 1) on /dev/zero with the kernel's BPF run-time statistics
// off and on (BPF_ENABLE_STATS held or not), alternating within each round
// so drift hits both alike; the cost is the median of the rounds'
// differences. Run by hand as root (BENCHMARKS.md, "bpf_stats"):
//   kscope_bpf_stats_bench [rounds [calls per batch [none]]]
#include <bpf/bpf.h>
#include <fcntl.h>
#include <prometheus/registry.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bpf/kernel_usage.h"
#include "collector.h"
#include "config.h"

namespace kscope::bench {
namespace {

double thread_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// ns per 1-byte read: the fastest of 5 batches of n, after a warm-up.
double read_ns(int fd, long n) {
  char c;
  for (long i = 0; i < n / 10; i++) (void)!read(fd, &c, 1);
  double best = INFINITY;
  for (int b = 0; b < 5; b++) {
    double t0 = thread_ns();
    for (long i = 0; i < n; i++) (void)!read(fd, &c, 1);
    best = std::min(best, (thread_ns() - t0) / static_cast<double>(n));
  }
  return best;
}

int run(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  long calls = argc > 2 ? std::atol(argv[2]) : 200000;
  int cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  if (!pin_thread(cpu)) std::fprintf(stderr, "warning: cannot pin to CPU %d\n", cpu);
  prometheus::Registry registry;
  Config config = default_config(collector_names());
  config.attribution = Attribution::kNone;
  CollectorContext ctx{registry, config, 0};
  // "none" as the third argument: no probe, the control (stats alone cost
  // nothing where no program runs).
  bool control = argc > 3 && std::string(argv[3]) == "none";
  auto vfs = collector_factories().at("vfs")(ctx);
  if (!control) vfs->start();
  int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  std::vector<double> off, on, diff;
  for (int r = 0; r < rounds; r++) {
    // off, on, off: the round's difference is on minus the mean of the offs.
    double a = read_ns(zero, calls);
    double b;
    {
      Fd stats = enable_bpf_run_stats();
      b = read_ns(zero, calls);
    }
    double c = read_ns(zero, calls);
    off.push_back((a + c) / 2);
    on.push_back(b);
    diff.push_back(b - (a + c) / 2);
  }
  double m = median(diff), mean = 0, var = 0;
  for (double d : diff) mean += d / static_cast<double>(diff.size());
  for (double d : diff) var += (d - mean) * (d - mean) / static_cast<double>(diff.size() - 1);
  std::printf(
      "read 1 B /dev/zero on CPU %d %s, CPU time, %d rounds x %ld calls\n"
      "  stats off %.1f ns, on %.1f ns (medians); on - off %.1f ns per call (median; mean %.1f "
      "+- %.1f s.e.)\n",
      cpu, control ? "without hooks (control)" : "with kscope's vfs probe (node-wide)", rounds,
      calls, median(off), median(on), m, mean, std::sqrt(var / diff.size()));
  close(zero);
  return 0;
}

}  // namespace
}  // namespace kscope::bench

int main(int argc, char** argv) {
  try {
    return kscope::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kscope_bpf_stats_bench: %s\n", e.what());
    return 1;
  }
}
