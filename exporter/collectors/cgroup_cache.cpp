#include "collectors/cgroup_cache.h"

#include <bpf/bpf.h>

#include <cstdint>
#include <string>

#include "bpf/error.h"
#include "bpf/object.h"

namespace kscope {

void CgroupCache::configure(bpf_object* obj, bool attribute) {
  for (const char* name : {"cgroup_cache_owner", "cgroup_cache"})
    if (int err = bpf_map__set_max_entries(find_map(obj, name), attribute ? kSlots : 1))
      throw Error(std::string("size ") + name, err);
}

CgroupCache::CgroupCache(bpf_object* obj, size_t words, std::vector<size_t> activity)
    : words_(words),
      activity_words_(std::move(activity)),
      owner_fd_(bpf_map__fd(find_map(obj, "cgroup_cache_owner"))),
      stats_fd_(bpf_map__fd(find_map(obj, "cgroup_cache"))),
      reader_(words),
      slot_rows_(words) {}

uint64_t CgroupCache::activity(std::span<const uint64_t> words) const {
  uint64_t sum = 0;
  for (size_t i : activity_words_) sum += words[i];
  return sum;
}

void CgroupCache::merge(PercpuRows& rows) {
  best_missed_.fill({0, 0});
  for (size_t r = 0; r < rows.size(); r++) {
    uint64_t id = rows.key(r);
    if (id == KSCOPE_OVERFLOW_CGROUP) continue;
    uint64_t now = activity(rows.row(r));
    uint64_t& last = hash_activity_[id];
    // Lower: the entry was deleted and made again by a late event.
    uint64_t delta = now >= last ? now - last : now;
    if (auto& b = best_missed_[id % kSlots]; delta > b.second) b = {id, delta};
    last = now;
  }

  // The rows of the cgroups with a slot or carried counts (a few dozen at
  // most), found in one walk; appended for those only here.
  std::unordered_map<uint64_t, size_t> where;
  bool any_slot = false;
  for (const Slot& s : slots_)
    if (s.state == State::kOwned || s.state == State::kDraining) {
      where.emplace(s.id, SIZE_MAX);
      any_slot = true;
    }
  for (const auto& [id, words] : carried_) where.emplace(id, SIZE_MAX);
  if (where.empty()) return;
  for (size_t r = 0; r < rows.size(); r++)
    if (auto it = where.find(rows.key(r)); it != where.end()) it->second = r;
  auto add = [&](uint64_t id, std::span<const uint64_t> words) {
    size_t& r = where.at(id);
    if (r == SIZE_MAX) r = rows.append(id);
    auto total = rows.row(r);
    for (size_t w = 0; w < words_; w++) total[w] += words[w];
  };
  if (any_slot) {
    slot_rows_.clear();
    reader_.read_array(stats_fd_, slot_rows_);  // all 64 in one syscall
    for (size_t r = 0; r < slot_rows_.size(); r++) {
      uint64_t i = slot_rows_.key(r);
      if (i >= kSlots) continue;
      Slot& s = slots_[i];
      if (s.state != State::kOwned && s.state != State::kDraining) continue;
      auto words = slot_rows_.row(r);
      s.words.assign(words.begin(), words.end());
      uint64_t now = activity(s.words);
      s.activity_delta = now - s.activity;
      s.activity = now;
      add(s.id, s.words);
    }
  }
  for (const auto& [id, words] : carried_) add(id, words);
}

void CgroupCache::forget(uint64_t id) {
  hash_activity_.erase(id);
  if (best_missed_[id % kSlots].first == id) best_missed_[id % kSlots] = {0, 0};
  carried_.erase(id);
  Slot& s = slots_[id % kSlots];
  if (s.id != id || (s.state != State::kOwned && s.state != State::kDraining)) return;
  // Not read as its again, even if clearing the owner failed: its series go.
  if (s.state == State::kOwned) set_owner(static_cast<uint32_t>(id % kSlots), 0);
  s.state = State::kClearing;
}

void CgroupCache::rebalance() {
  const auto& best = best_missed_;  // the busiest cgroup that missed each slot
  for (uint32_t i = 0; i < kSlots; i++) {
    Slot& s = slots_[i];
    switch (s.state) {
      case State::kDraining:
      case State::kClearing:
        // Its owner was cleared a pass ago: nothing counts there now, and
        // this pass read its final counts. A live owner keeps them.
        if (!zero(i)) continue;
        if (s.state == State::kDraining) {
          auto& kept = carried_[s.id];
          kept.resize(words_, 0);
          for (size_t w = 0; w < words_; w++) kept[w] += s.words[w];
        }
        s = Slot{};
        break;
      case State::kOwned:
        if (best[i].second >= kTakeOverEvents && best[i].second > 2 * s.activity_delta &&
            set_owner(i, 0))
          s.state = State::kDraining;
        continue;
      case State::kFree:
        break;
    }
    if (best[i].second == 0 || !set_owner(i, best[i].first)) continue;
    s.state = State::kOwned;
    s.id = best[i].first;
  }
}

size_t CgroupCache::owned() const {
  size_t n = 0;
  for (const Slot& s : slots_) n += s.state == State::kOwned;
  return n;
}

bool CgroupCache::set_owner(uint32_t slot, uint64_t id) {
  return bpf_map_update_elem(owner_fd_, &slot, &id, BPF_ANY) == 0;
}

bool CgroupCache::zero(uint32_t slot) {
  std::vector<uint64_t> zeros(possible_cpus() * words_, 0);
  return bpf_map_update_elem(stats_fd_, &slot, zeros.data(), BPF_ANY) == 0;
}

}  // namespace kscope
