#include "collectors/module_stats.h"

#include <bpf/bpf.h>

#include <algorithm>

#include "bpf/error.h"
#include "bpf/object.h"
#include "cgroup/attribution.h"
#include "probes/cgroup_key.h"

namespace kscope {
namespace {

uint32_t capacity(const CollectorContext& ctx) {
  if (ctx.cgroup_map_entries) return ctx.cgroup_map_entries;
  // Room for every live cgroup of a busy node, not only the labeled ones:
  // entries are allocated on use, so a large bound costs nothing idle.
  return std::clamp<uint32_t>(4 * ctx.config.max_cgroups, 1024, 65536);
}

int map_fd(bpf_object* obj, const char* name) { return bpf_map__fd(find_map(obj, name)); }

// The words that count events (a cgroup's activity, for the cache): the
// counters, but not the sums of observed values (bytes).
std::vector<size_t> activity_words(std::span<const CounterSpec> counters,
                                   std::span<const HistogramSpec> histograms) {
  std::vector<size_t> out;
  for (const auto& c : counters) {
    bool is_sum = std::any_of(histograms.begin(), histograms.end(),
                              [&](const HistogramSpec& h) { return h.sum_index == c.index; });
    if (!is_sum) out.push_back(static_cast<size_t>(c.index));
  }
  return out;
}

}  // namespace

bool ModuleStats::configure(bpf_object* obj, const CollectorContext& ctx) {
  // +1: the overflow key.
  if (int err = bpf_map__set_max_entries(find_map(obj, "cgroup_stats"),
                                         ctx.attribution ? capacity(ctx) + 1 : 1))
    throw Error("size cgroup_stats", err);
  CgroupCache::configure(obj, ctx.attribution != nullptr);
  return ctx.attribution != nullptr;
}

ModuleStats::ModuleStats(const std::string& probe, bpf_object* obj, size_t words,
                         const CollectorContext& ctx, std::span<const CounterSpec> counters,
                         std::span<const HistogramSpec> histograms)
    : probe_(probe),
      words_(words),
      attribution_(ctx.attribution),
      stats_fd_(map_fd(obj, "stats")),
      cgroup_fd_(map_fd(obj, "cgroup_stats")),
      overflow_fd_(map_fd(obj, "overflow_events")),
      publisher_(std::make_shared<StatsPublisher>(ctx.registry, counters, histograms,
                                                  ctx.config.mode, attribution_ != nullptr)),
      reader_(words),
      rows_(words),
      kernel_usage_(ctx.registry, probe, obj, ctx.config.bpf_stats) {
  if (!attribution_) return;
  cache_.emplace(obj, words_, activity_words(counters, histograms));
  uint64_t key = KSCOPE_OVERFLOW_CGROUP;
  std::vector<uint64_t> zeros(possible_cpus() * words_, 0);
  if (bpf_map_update_elem(cgroup_fd_, &key, zeros.data(), BPF_NOEXIST) != 0)
    throw Error(probe_ + ": insert the overflow key", errno);
  prometheus::Labels labels{{"probe", probe_}};
  entries_ = &prometheus::BuildGauge()
                  .Name("kscope_cgroup_map_entries")
                  .Help("Entries in the probe's per-cgroup map now, the overflow key included.")
                  .Register(ctx.registry)
                  .Add(labels);
  prometheus::BuildGauge()
      .Name("kscope_cgroup_map_capacity")
      .Help("Entries the probe's per-cgroup map can hold, the overflow key included.")
      .Register(ctx.registry)
      .Add(labels)
      .Set(capacity(ctx) + 1);
  cached_ = &prometheus::BuildGauge()
                 .Name("kscope_cgroup_cache_cgroups")
                 .Help(
                     "cgroups counted in the probe's per-CPU cgroup cache now, the fast path "
                     "(the busiest, one per slot of 64).")
                 .Register(ctx.registry)
                 .Add(labels);
  overflow_ = &prometheus::BuildCounter()
                   .Name("kscope_cgroup_overflow_events_total")
                   .Help(
                       "Events counted under cgroup=\"other\" because the per-cgroup map was "
                       "full (totals stay exact).")
                   .Register(ctx.registry)
                   .Add(labels);
  // The publisher outlives nothing it is told about: weak, in case the
  // collector goes first.
  std::weak_ptr<StatsPublisher> weak = publisher_;
  attribution_->on_remove([weak](const std::string& label) {
    if (auto p = weak.lock()) p->remove_label(label);
  });
}

void ModuleStats::sample_kernel_usage() { kernel_usage_.update(); }

void ModuleStats::sample() {
  if (!attribution_) {
    publisher_->publish(0, "", read_percpu_u64s(stats_fd_, 0, words_));
    return;
  }
  rows_.clear();
  reader_.read_hash(cgroup_fd_, rows_);
  size_t hash_entries = rows_.size();
  cache_->merge(rows_);
  for (size_t r = 0; r < rows_.size(); r++) {
    uint64_t id = rows_.key(r);
    publisher_->publish(id, attribution_->label(id), rows_.row(r));
    if (attribution_->gone(id)) {
      // Its counts are published. A removed cgroup has no live task; only
      // a late release of one of its dead tasks landing between this read
      // and the delete would be lost.
      bpf_map_delete_elem(cgroup_fd_, &id);
      cache_->forget(id);
      publisher_->forget(id);
    }
  }
  cache_->rebalance();
  entries_->Set(static_cast<double>(hash_entries));
  cached_->Set(static_cast<double>(cache_->owned()));
  uint64_t overflowed = read_percpu_u64s(overflow_fd_, 0, 1)[0];
  if (overflowed > overflow_last_)
    overflow_->Increment(static_cast<double>(overflowed - overflow_last_));
  overflow_last_ = std::max(overflow_last_, overflowed);
}

}  // namespace kscope
