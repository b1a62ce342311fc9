#include "metrics.h"

#include <algorithm>
#include <cmath>

namespace kscope {

std::vector<double> power_of_two_bounds(size_t n) {
  std::vector<double> b(n);
  for (size_t i = 0; i < n; i++) b[i] = std::ldexp(1.0, static_cast<int>(i));
  return b;
}

StatsPublisher::StatsPublisher(prometheus::Registry& registry,
                               std::span<const CounterSpec> counters,
                               std::span<const HistogramSpec> histograms, Mode mode, bool labeled)
    : labeled_(labeled) {
  for (const auto& spec : counters) {
    if (spec.return_only && mode == Mode::kEntry) continue;
    counter_specs_.push_back(spec);
    counter_families_.push_back(
        &prometheus::BuildCounter().Name(spec.name).Help(spec.help).Register(registry));
  }
  if (mode == Mode::kReturn) {
    for (const auto& spec : histograms) {
      histogram_specs_.push_back(spec);
      histogram_families_.push_back(
          &prometheus::BuildHistogram().Name(spec.name).Help(spec.help).Register(registry));
    }
  }
  if (!labeled_) series("");  // node-wide series exist from the start, at 0
}

StatsPublisher::Series& StatsPublisher::series(const std::string& label) {
  auto it = series_.find(label);
  if (it != series_.end()) return it->second;
  prometheus::Labels labels;
  if (labeled_) labels["cgroup"] = label;
  Series s;
  for (auto* f : counter_families_) s.counters.push_back(&f->Add(labels));
  for (size_t i = 0; i < histogram_families_.size(); i++)
    s.histograms.push_back(
        &histogram_families_[i]->Add(labels, power_of_two_bounds(histogram_specs_[i].slots - 1)));
  return series_.emplace(label, std::move(s)).first->second;
}

void StatsPublisher::publish(uint64_t source, const std::string& label,
                             std::span<const uint64_t> words) {
  Source& src = sources_[source];
  auto& last = src.last;
  if (last.size() != words.size()) last.assign(words.size(), 0);
  // The kernel's sums only grow: a smaller value would be a bug, never a reset.
  auto delta = [&](size_t i) { return words[i] > last[i] ? words[i] - last[i] : 0; };
  bool any = false;
  for (size_t i = 0; i < words.size() && !any; i++) any = delta(i) != 0;
  if (!src.series || src.label != label) {
    // The series appear (at 0) even when nothing changed.
    src.series = &series(label);
    src.label = label;
  }
  if (!any) return;
  Series& s = *src.series;
  for (size_t k = 0; k < counter_specs_.size(); k++)
    if (uint64_t d = delta(counter_specs_[k].index))
      s.counters[k]->Increment(static_cast<double>(d));
  for (size_t k = 0; k < histogram_specs_.size(); k++) {
    const auto& spec = histogram_specs_[k];
    increments_.assign(spec.slots, 0);
    bool observed = false;
    for (size_t i = 0; i < spec.slots; i++) {
      increments_[i] = static_cast<double>(delta(spec.first_slot + i));
      observed = observed || increments_[i] != 0;
    }
    if (observed)
      s.histograms[k]->ObserveMultiple(increments_, static_cast<double>(delta(spec.sum_index)));
  }
  for (size_t i = 0; i < words.size(); i++) last[i] = std::max(last[i], words[i]);
}

void StatsPublisher::remove_label(const std::string& label) {
  auto it = series_.find(label);
  if (it == series_.end()) return;
  for (size_t k = 0; k < counter_families_.size(); k++)
    counter_families_[k]->Remove(it->second.counters[k]);
  for (size_t k = 0; k < histogram_families_.size(); k++)
    histogram_families_[k]->Remove(it->second.histograms[k]);
  // A source that comes back with this label makes its series again.
  for (auto& [id, src] : sources_)
    if (src.series == &it->second) src.series = nullptr;
  series_.erase(it);
}

}  // namespace kscope
