// The sampling thread against concurrent scrapes. While the sampler moves
// counters, a histogram and per-cgroup series forward, and cgroups come and
// go (their series removed once a scrape has seen their last values),
// clients scrape the telemetry path, the live view and /api/status over
// HTTP with basic auth, and serialize the registry directly. No scrape may
// see a counter go back; the last one must show the exact totals. The
// `sanitize` tests also run this under ThreadSanitizer
// (test/sanitize_tests.cmake).
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth_util.h"
#include "cgroup/attribution.h"
#include "cgroup_tree.h"
#include "collector.h"
#include "e2e_util.h"
#include "metrics.h"
#include "sampler.h"
#include "self_metrics.h"
#include "web.h"

namespace kscope {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test::basic_auth_header;
using test::bcrypt_hash;

constexpr std::array<CounterSpec, 2> kCounters{{
    {0, "t_calls_total", "Calls.", false},
    {1, "t_bytes_total", "Bytes.", true},
}};
// Words: calls, bytes, sum of sizes, then 4 slots (le 1, 2, 4, +Inf).
constexpr std::array<HistogramSpec, 1> kHistograms{{{"t_size_bytes", "Sizes.", 3, 4, 2}}};
constexpr size_t kWords = 7;

// A probe module with the kernel's per-cgroup map replaced by totals kept
// here: at each sample, every cgroup still counting makes one 3-byte call.
// Publishes the way ModuleStats does.
class FakeModule : public Collector {
 public:
  FakeModule(prometheus::Registry& registry, CgroupAttribution& attribution)
      : attribution_(attribution),
        publisher_(std::make_shared<StatsPublisher>(registry, kCounters, kHistograms, Mode::kReturn,
                                                    true)) {
    std::weak_ptr<StatsPublisher> weak = publisher_;
    attribution_.on_remove([weak](const std::string& label) {
      if (auto p = weak.lock()) p->remove_label(label);
    });
  }
  void start() override {}
  const Attachment& attachment() const override { return attachment_; }
  void sample() override {
    std::lock_guard lock(mu_);
    ++samples_;
    for (auto it = map_.begin(); it != map_.end();) {
      auto& [id, words] = *it;
      if (counting_.count(id)) {
        words[0] += 1;
        words[1] += 3;
        words[2] += 3;
        words[5] += 1;  // le="4"
      }
      publisher_->publish(id, attribution_.label(id), words);
      if (attribution_.gone(id)) {
        publisher_->forget(id);
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // A task of the cgroup ran: the kernel starts counting it.
  void add(uint64_t id) {
    std::lock_guard lock(mu_);
    counting_.insert(id);
    map_.emplace(id, std::vector<uint64_t>(kWords, 0));
  }
  // Its last task left (before the cgroup is removed).
  void stop_counting(uint64_t id) {
    std::lock_guard lock(mu_);
    counting_.erase(id);
  }
  uint64_t samples() const {
    std::lock_guard lock(mu_);
    return samples_;
  }

 private:
  CgroupAttribution& attribution_;
  Attachment attachment_;
  std::shared_ptr<StatsPublisher> publisher_;
  mutable std::mutex mu_;
  std::map<uint64_t, std::vector<uint64_t>> map_;
  std::set<uint64_t> counting_;
  uint64_t samples_ = 0;
};

// Series of counters (and histogram counts and buckets) only go up between
// two scrapes of one client; a series may vanish (its cgroup removed).
void expect_monotonic(const std::map<std::string, double>& before,
                      const std::map<std::string, double>& after, const std::string& client) {
  for (const auto& [series, value] : after) {
    bool counter = series.find("_total") != std::string::npos ||
                   series.find("_count") != std::string::npos ||
                   series.find("_bucket") != std::string::npos;
    auto it = before.find(series);
    if (counter && it != before.end()) {
      EXPECT_GE(value, it->second) << client << ": " << series;
    }
  }
}

TEST(SamplerScrape, ScrapesDuringSamplingSeeMonotonicCountersAndExactTotals) {
  test::CgroupTree tree;
  auto registry = std::make_shared<prometheus::Registry>();
  SelfMetrics self(*registry, BuildInfo{"test", "test", "test", "test"});
  auto attribution =
      std::make_shared<CgroupAttribution>(tree.root().string(), 1000, "/nonexistent", *registry);
  FakeModule module(*registry, *attribution);
  std::vector<std::string> steady = {
      "/system.slice/ssh.service",
      "/kubepods/burstable/pod1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b/" + std::string(64, 'c')};
  for (int i = 0; i < 20; ++i)
    steady.push_back("/user.slice/session-" + std::to_string(i) + ".scope");
  for (const auto& path : steady) module.add(tree.add(path));

  WebConfig web_config;
  web_config.users["prom"] = bcrypt_hash("secret");
  WebServer web(
      "127.0.0.1:0", "/metrics",
      [] {
        return Status{"test", "/metrics", Config{}, {}};
      },
      web_config);
  web.add(registry);
  web.add(attribution, /*counts_scrapes=*/true);
  const int port = web.ports().at(0);
  const std::string auth = basic_auth_header("prom:secret");

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::vector<std::thread> clients;
  // Over HTTP: the telemetry path (what Prometheus scrapes), the live view, the status API.
  for (const std::string path : {"/metrics", "/metrics", "/metrics?source=ui", "/api/status"}) {
    clients.emplace_back([&, path] {
      std::map<std::string, double> last;
      while (!done) {
        auto r = test::http_get(port, path, "GET", auth);
        ASSERT_EQ(r.status, 200) << path;
        if (path != "/api/status") {
          auto now = test::parse_metrics(r.body);
          expect_monotonic(last, now, path);
          last = std::move(now);
        }
        ++scrapes;
      }
    });
  }
  // In process: the registry serialized directly, and the live view's text.
  clients.emplace_back([&] {
    while (!done) {
      prometheus::TextSerializer().Serialize(registry->Collect());
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  clients.emplace_back([&] {
    std::map<std::string, double> last;
    while (!done) {
      auto now = test::parse_metrics(web.live_metrics());
      expect_monotonic(last, now, "live_metrics");
      last = std::move(now);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });

  // Sampling starts now, every 2 ms. Cgroups come and go meanwhile.
  int churned = 0;
  {
    Sampler sampler({{"fake", &module}}, self, std::chrono::milliseconds(2), attribution.get());
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while ((module.samples() < 100 || churned < 20 || scrapes < 100) && Clock::now() < deadline) {
      const std::string path = "/system.slice/churn-" + std::to_string(churned++) + ".scope";
      uint64_t id = tree.add(path);
      module.add(id);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      module.stop_counting(id);
      tree.remove(path);
    }
    EXPECT_LT(Clock::now(), deadline)
        << "samples " << module.samples() << ", churned " << churned << ", scrapes " << scrapes;
  }  // the sampler stops: nothing changes from here on
  done = true;
  for (auto& c : clients) c.join();

  // The cgroups removed last may still have series: their final values had
  // not been seen by a scrape when sampling stopped (how many depends on
  // scrape times: up to 4 under ASan in CI). Sampling again with scrapes,
  // every one of them goes.
  auto churn_series = [](const std::map<std::string, double>& m) {
    int n = 0;
    for (const auto& [series, value] : m)
      if (series.starts_with("t_calls_total{cgroup=\"/system.slice/churn-")) ++n;
    return n;
  };
  {
    Sampler sampler({{"fake", &module}}, self, std::chrono::milliseconds(2), attribution.get());
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (churn_series(test::parse_metrics(test::http_get(port, "/metrics", "GET", auth).body)) >
               0 &&
           Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const double samples = static_cast<double>(module.samples());
  auto last = test::parse_metrics(test::http_get(port, "/metrics", "GET", auth).body);
  EXPECT_EQ(last["kscope_samples_total"], samples);
  for (const auto& path : steady) {
    const std::string label = "{cgroup=\"" + path + "\"}";
    EXPECT_EQ(last["t_calls_total" + label], samples) << path;
    EXPECT_EQ(last["t_bytes_total" + label], 3 * samples) << path;
    EXPECT_EQ(last["t_size_bytes_count" + label], samples) << path;
    EXPECT_EQ(last["t_size_bytes_bucket{cgroup=\"" + path + "\",le=\"2\"}"], 0) << path;
    EXPECT_EQ(last["t_size_bytes_bucket{cgroup=\"" + path + "\",le=\"4\"}"], samples) << path;
  }
  // Removed cgroups' series went, every one.
  EXPECT_EQ(churn_series(last), 0) << "of " << churned << " removed cgroups";
}

}  // namespace
}  // namespace kscope
