// Where `kscope top` gets its numbers: a running kscope's /metrics over
// HTTP, or the probes loaded in this process.
#pragma once

#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cgroup/attribution.h"
#include "collector.h"
#include "config.h"
#include "top/exposition.h"

namespace kscope::top {

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string describe() const = 0;  // for the header line
  // The values now. Throws Error saying what failed and why.
  virtual Scrape fetch() = 0;
  // kscope's sampling interval, when known.
  virtual std::optional<std::chrono::milliseconds> sample_interval() const = 0;
  // Probes that failed to start, with the reason (in-process only).
  virtual std::map<std::string, std::string> down() const { return {}; }
};

// http://host[:port]/path. Plain HTTP only: TLS and basic auth would come
// with --web.config.file support, which kscope does not have yet.
class HttpSource : public Source {
 public:
  // Throws UsageError for a URL it cannot use.
  explicit HttpSource(const std::string& url);
  std::string describe() const override { return url_; }
  Scrape fetch() override;
  std::optional<std::chrono::milliseconds> sample_interval() const override { return interval_; }

 private:
  std::string get(const std::string& path) const;  // the body of a 200; throws Error
  std::string url_, host_, port_, path_;
  std::optional<std::chrono::milliseconds> interval_;
  bool asked_status_ = false;
};

// Loads every enabled probe module here, as kscope does, and samples them
// at each fetch(). Needs what kscope needs (root, BTF).
class LocalSource : public Source {
 public:
  // Throws Error when no probe could start.
  explicit LocalSource(const Config& config);
  ~LocalSource() override;
  std::string describe() const override { return "probes in this process"; }
  Scrape fetch() override;
  std::optional<std::chrono::milliseconds> sample_interval() const override {
    return std::nullopt;  // sampled at each fetch: the time between fetches is the window
  }
  std::map<std::string, std::string> down() const override { return down_; }

 private:
  Config config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<CgroupAttribution> attribution_;
  std::map<std::string, std::unique_ptr<Collector>> running_;
  std::map<std::string, std::string> down_;
};

}  // namespace kscope::top
