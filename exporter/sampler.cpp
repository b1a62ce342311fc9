#include "sampler.h"

#include <pthread.h>

#include "log.h"

namespace kscope {

Sampler::Sampler(std::map<std::string, Collector*> collectors, SelfMetrics& self,
                 std::chrono::milliseconds interval, CgroupAttribution* attribution)
    : collectors_(std::move(collectors)),
      self_(self),
      attribution_(attribution),
      interval_(interval) {
  thread_ = std::jthread([this](std::stop_token stop) {
    // Named, so its CPU shows apart in top -H and /proc/<pid>/task.
    pthread_setname_np(pthread_self(), "kscope-sampler");
    run(stop);
  });
}

Sampler::~Sampler() {
  thread_.request_stop();
  cv_.notify_all();
}

void Sampler::sample_once() {
  auto begin = std::chrono::steady_clock::now();
  if (attribution_) attribution_->begin_pass();
  for (auto& [name, collector] : collectors_) {
    try {
      collector->sample();
      collector->sample_kernel_usage();
      if (failing_[name]) log_info(name + ": sampling works again");
      failing_[name] = false;
    } catch (const std::exception& e) {
      if (!failing_[name]) log_error(name + ": sample: " + e.what());
      failing_[name] = true;
    }
    self_.probe_up(name, !failing_[name]);
  }
  if (attribution_) attribution_->end_pass();
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - begin;
  self_.sampled(took.count());
}

void Sampler::run(std::stop_token stop) {
  auto next = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    sample_once();
    next += interval_;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind: do not burst to catch up
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, stop, next, [] { return false; });
  }
}

}  // namespace kscope
