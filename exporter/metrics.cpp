#include "metrics.h"

#include <cmath>

namespace kscope {

CounterSet::CounterSet(prometheus::Registry& registry, std::span<const CounterSpec> specs,
                       Mode mode) {
  for (const auto& spec : specs) {
    if (spec.return_only && mode == Mode::kEntry) continue;
    auto& family = prometheus::BuildCounter().Name(spec.name).Help(spec.help).Register(registry);
    counters_.push_back({spec.index, &family.Add({})});
  }
}

void CounterSet::update(std::span<const uint64_t> totals) {
  for (auto& e : counters_) {
    uint64_t now = totals[e.index];
    // The kernel's sums only grow; a smaller value would be a bug, never a reset.
    if (now > e.last) e.counter->Increment(static_cast<double>(now - e.last));
    e.last = std::max(e.last, now);
  }
}

std::vector<double> power_of_two_bounds(size_t n) {
  std::vector<double> b(n);
  for (size_t i = 0; i < n; i++) b[i] = std::ldexp(1.0, static_cast<int>(i));
  return b;
}

SlotHistogram::SlotHistogram(prometheus::Registry& registry, const std::string& name,
                             const std::string& help, size_t slots)
    : last_(slots, 0) {
  auto& family = prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
  histogram_ = &family.Add({}, power_of_two_bounds(slots - 1));
}

void SlotHistogram::update(std::span<const uint64_t> slot_totals, uint64_t sum_total) {
  std::vector<double> increments(last_.size());
  bool any = false;
  for (size_t i = 0; i < last_.size(); i++) {
    uint64_t now = std::max(slot_totals[i], last_[i]);
    increments[i] = static_cast<double>(now - last_[i]);
    any = any || now != last_[i];
    last_[i] = now;
  }
  uint64_t sum = std::max(sum_total, last_sum_);
  if (any || sum != last_sum_)
    histogram_->ObserveMultiple(increments, static_cast<double>(sum - last_sum_));
  last_sum_ = sum;
}

}  // namespace kscope
