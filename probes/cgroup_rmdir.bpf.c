/* Removed cgroups, for attribution: user space learns which cgroups went
 * away from here instead of checking every known cgroup each sample. Ids
 * are hints (cgroup v1 hierarchies number their own ids): user space
 * confirms each one. Not a probe module: it counts nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} removed_cgroups SEC(".maps");

/* Removals that found removed_cgroups full: user space then checks all. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} removed_lost SEC(".maps");

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(tpbtf__cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	__u8 one = 1;
	__u32 zero = 0;
	__u64 *lost;

	if (bpf_map_update_elem(&removed_cgroups, &id, &one, BPF_ANY) == 0)
		return 0;
	lost = bpf_map_lookup_elem(&removed_lost, &zero);
	if (lost)
		__sync_fetch_and_add(lost, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
