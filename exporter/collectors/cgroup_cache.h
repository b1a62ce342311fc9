// The user-space half of the cgroup cache in probes/kscope.bpf.h: which
// cgroup owns each per-CPU slot, and moving slots to the busiest cgroups
// without a count lost or counted twice. A cgroup's totals are its hash
// entry, plus its slot while it owns one, plus what slots it gave up had
// counted (kept here).
//
// A slot changes hands in steps a sampling pass apart, so no BPF program
// still writes into a slot user space reads for the last time or zeroes:
//   owned --(a busier cgroup misses it)--> draining: owner cleared in the
//   kernel, the slot still read as the old owner's
//   draining --(next pass)--> its counts kept as the old owner's, zeroed,
//   free; free --(a cgroup missed it)--> owned by that cgroup.
// A removed cgroup's slot goes owned --> clearing --(next pass)--> zeroed.
#pragma once

#include <bpf/libbpf.h>

#include <array>
#include <span>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bpf/percpu_rows.h"
#include "probes/cgroup_key.h"

namespace kscope {

class CgroupCache {
 public:
  // Before load: full size with attribution, one slot (unused) without.
  static void configure(bpf_object* obj, bool attribute);

  // activity: the stats words whose sum measures a cgroup's events (calls,
  // not bytes).
  CgroupCache(bpf_object* obj, size_t words, std::vector<size_t> activity);

  // Each pass, with the hash map just read into rows: notes which cgroups
  // missed the cache, then adds to each cgroup's row its slot and its past
  // slots (a row is appended for a cgroup found only there).
  void merge(PercpuRows& rows);
  // The cgroup is gone (its entry deleted): its slot is cleared.
  void forget(uint64_t id);
  // End of the pass: moves slots one step (see above).
  void rebalance();
  // Slots owned by a cgroup now.
  size_t owned() const;

 private:
  enum class State { kFree, kOwned, kDraining, kClearing };
  struct Slot {
    State state = State::kFree;
    uint64_t id = 0;
    std::vector<uint64_t> words;  // summed over CPUs, as read this pass
    uint64_t activity = 0, activity_delta = 0;
  };
  static constexpr size_t kSlots = KSCOPE_CGROUP_CACHE_SLOTS;
  // A busier cgroup takes an owned slot only past this many events a pass
  // and twice the owner's: no slot ping-pong between similar cgroups.
  static constexpr uint64_t kTakeOverEvents = 64;

  uint64_t activity(std::span<const uint64_t> words) const;
  bool set_owner(uint32_t slot, uint64_t id);
  bool zero(uint32_t slot);

  size_t words_;
  std::vector<size_t> activity_words_;
  int owner_fd_, stats_fd_;
  PercpuReader reader_;
  PercpuRows slot_rows_;  // the slots as read this pass
  std::array<Slot, kSlots> slots_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> carried_;  // from slots given up
  std::unordered_map<uint64_t, uint64_t> hash_activity_;         // id -> its entry's, last pass
  // Per slot, the cgroup with the most events via the hash this pass: id, events.
  std::array<std::pair<uint64_t, uint64_t>, kSlots> best_missed_{};
};

}  // namespace kscope
