/* Helpers shared by kscope's BPF programs. Include after vmlinux.h. */
#pragma once

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "le_slot.h"

/* 0 counts every task; otherwise only tasks of this process (tests, like
 * libbpf-tools' targ_tgid). Read-only data: when 0 the verifier sees a
 * constant and drops the check, so production pays nothing for it. */
const volatile __u32 targ_tgid = 0;

static __always_inline bool kscope_skip_current(void)
{
	if (targ_tgid)
		return (bpf_get_current_pid_tgid() >> 32) != targ_tgid;
	return false;
}

/* For events about a task that may not be current (exit, free): the task
 * itself or its parent belongs to targ_tgid. */
static __always_inline bool kscope_skip_task(struct task_struct *t)
{
	if (!targ_tgid)
		return false;
	if (BPF_CORE_READ(t, tgid) == targ_tgid)
		return false;
	return BPF_CORE_READ(t, real_parent, tgid) != targ_tgid;
}

/* Per-CPU slots, but still atomic: syscall tracepoints may run preemptible
 * (faultable since 6.13), and two tasks on one CPU must not lose a count. */
static __always_inline void kscope_add(__u64 *slot, __u64 n)
{
	__sync_fetch_and_add(slot, n);
}

/* One-entry per-CPU array holding a module's whole stats struct: one map
 * lookup per event, one syscall per sample to read all CPUs. */
#define KSCOPE_STATS_MAP(name, stats_t)              \
	struct {                                     \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, 1);              \
		__type(key, __u32);                  \
		__type(value, stats_t);               \
	} name SEC(".maps")

static __always_inline void *kscope_stats(void *map)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(map, &zero);
}

char LICENSE[] SEC("license") = "GPL";
