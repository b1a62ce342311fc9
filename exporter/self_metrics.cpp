#include "self_metrics.h"

#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include "version.h"

namespace kscope {

BuildInfo current_build_info() {
  utsname u{};
  uname(&u);
  return {KSCOPE_VERSION, KSCOPE_REVISION, libbpf_version_string(), u.release};
}

SelfMetrics::SelfMetrics(prometheus::Registry& registry, const BuildInfo& build)
    : probe_up_(prometheus::BuildGauge()
                    .Name("kscope_probe_up")
                    .Help("Whether the probe module is loaded and attached (1) or failed (0).")
                    .Register(registry)),
      attach_info_(prometheus::BuildGauge()
                       .Name("kscope_probe_attach_info")
                       .Help("Attach family (fentry, kprobe or tracepoint) that carries the probe "
                             "module (always 1).")
                       .Register(registry)),
      sample_duration_(
          prometheus::BuildHistogram()
              .Name("kscope_sample_duration_seconds")
              .Help("Time one sampling pass took to read every probe's maps.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.00001, 0.000025, 0.00005, 0.0001,
                                                               0.00025, 0.0005, 0.001, 0.0025,
                                                               0.005, 0.01, 0.025, 0.05, 0.1})),
      samples_(prometheus::BuildCounter()
                   .Name("kscope_samples_total")
                   .Help("Sampling passes completed.")
                   .Register(registry)
                   .Add({})) {
  prometheus::BuildGauge()
      .Name("kscope_build_info")
      .Help(
          "A metric with a constant '1' value labeled by version, revision, libbpf version "
          "and kernel release.")
      .Register(registry)
      .Add({{"version", build.version},
            {"revision", build.revision},
            {"libbpf_version", build.libbpf_version},
            {"kernel_release", build.kernel_release}})
      .Set(1);
}

void SelfMetrics::probe_up(const std::string& probe, bool up) {
  probe_up_.Add({{"probe", probe}}).Set(up ? 1 : 0);
}

void SelfMetrics::probe_attached(const std::string& probe, const std::set<std::string>& kinds) {
  for (const auto& kind : kinds) attach_info_.Add({{"probe", probe}, {"attach", kind}}).Set(1);
}

void SelfMetrics::sampled(double seconds) {
  sample_duration_.Observe(seconds);
  samples_.Increment();
}

}  // namespace kscope
