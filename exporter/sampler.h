// The sampling thread: every interval, each running collector reads its
// maps and moves its metrics forward. It never throws.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cgroup/attribution.h"
#include "collector.h"
#include "self_metrics.h"

namespace kscope {

class Sampler {
 public:
  // collectors: started ones, by module name. Sampling starts at once.
  // attribution: null when counting node-wide.
  Sampler(std::map<std::string, Collector*> collectors, SelfMetrics& self,
          std::chrono::milliseconds interval, CgroupAttribution* attribution = nullptr);
  ~Sampler();  // stops and joins
  void sample_once();

 private:
  void run(std::stop_token stop);

  std::map<std::string, Collector*> collectors_;
  std::map<std::string, bool> failing_;  // log a sampling error once, not every interval
  SelfMetrics& self_;
  CgroupAttribution* attribution_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;
};

}  // namespace kscope
