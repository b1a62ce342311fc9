#include "cgroup/rmdir_watch.h"

#include <bpf/bpf.h>

#include <cerrno>

#include "bpf/attach.h"
#include "bpf/error.h"
#include "cgroup_rmdir.skel.h"

namespace kscope {

RmdirWatch::RmdirWatch() : skel_(cgroup_rmdir_bpf__open(), cgroup_rmdir_bpf__destroy) {
  if (!skel_) throw Error("cgroup removal watch: open BPF object", errno);
  if (int err = cgroup_rmdir_bpf__load(skel_.get()))
    throw Error("cgroup removal watch: load", err, load_hint(Attach::kTracepoint, err));
  link_.reset(bpf_program__attach(skel_->progs.tpbtf__cgroup_rmdir));
  if (!link_) throw Error("cgroup removal watch: attach tp_btf/cgroup_rmdir", errno);
}

std::optional<std::vector<uint64_t>> RmdirWatch::drain() {
  int fd = bpf_map__fd(skel_->maps.removed_cgroups);
  std::vector<uint64_t> ids;
  uint64_t key;
  // Delete as we go: an id removed again later comes back as a new key.
  while (bpf_map_get_next_key(fd, nullptr, &key) == 0) {
    ids.push_back(key);
    if (bpf_map_delete_elem(fd, &key) != 0) break;
  }
  uint64_t lost = read_percpu_u64s(bpf_map__fd(skel_->maps.removed_lost), 0, 1)[0];
  if (lost != lost_seen_) {
    lost_seen_ = lost;
    return std::nullopt;
  }
  return ids;
}

}  // namespace kscope
