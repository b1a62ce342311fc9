/* Helpers shared by kscope's BPF programs. Include after vmlinux.h. */
#pragma once

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "le_slot.h"
#include "cgroup_key.h"

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

/* Each module defines KSCOPE_STATS_T (its stats struct) before including
 * this header, and gets its maps and lookups from here. */
#ifndef KSCOPE_STATS_T
#error "define KSCOPE_STATS_T before including kscope.bpf.h"
#endif

/* Count per cgroup v2 (true) or node-wide (false). Read-only data: the
 * verifier keeps only the branch in use. */
const volatile bool attribute_cgroup = false;

/* Node-wide: one per-CPU array entry holding all the module's counters, so
 * one lookup per event and one read per sample for all CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, KSCOPE_STATS_T);
} stats SEC(".maps");

/* Per cgroup id. User space sizes it (max_entries) before load and inserts
 * the overflow key, which takes the events of cgroups that find the map
 * full: nothing is dropped or evicted, so totals stay exact. Not
 * preallocated: memory follows the live cgroups. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, KSCOPE_STATS_T);
} cgroup_stats SEC(".maps");

/* Always zero: the initial value of a new cgroup's entry (too big for the
 * 512-byte BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, KSCOPE_STATS_T);
} zero_stats SEC(".maps");

/* The cgroup cache: the hot path of per-cgroup counting. Slot i of the
 * per-CPU array cgroup_cache counts for the cgroup whose id cgroup_cache_owner
 * holds at i (0: none), so a busy cgroup's events cost two inlined array
 * lookups instead of a hash lookup. Only user space writes owners: it gives a
 * slot to the busiest cgroup whose id falls on it, and reads each cgroup's
 * counts as its hash entry plus its slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KSCOPE_CGROUP_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} cgroup_cache_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KSCOPE_CGROUP_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, KSCOPE_STATS_T);
} cgroup_cache SEC(".maps");

/* Events counted under the overflow key because cgroup_stats was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} overflow_events SEC(".maps");

static __always_inline KSCOPE_STATS_T *kscope_stats_for(__u64 cgroup_id)
{
	__u32 zero = 0;
	KSCOPE_STATS_T *s;
	void *initial;
	__u64 *overflowed, *owner;
	__u32 slot = cgroup_id & (KSCOPE_CGROUP_CACHE_SLOTS - 1);

	if (!attribute_cgroup)
		return bpf_map_lookup_elem(&stats, &zero);
	owner = bpf_map_lookup_elem(&cgroup_cache_owner, &slot);
	if (owner && *owner == cgroup_id && cgroup_id) { /* 0 owns nothing */
		s = bpf_map_lookup_elem(&cgroup_cache, &slot);
		if (s)
			return s;
	}
	s = bpf_map_lookup_elem(&cgroup_stats, &cgroup_id);
	if (s)
		return s;
	initial = bpf_map_lookup_elem(&zero_stats, &zero);
	if (initial) /* fails when full, or when another CPU just added it */
		bpf_map_update_elem(&cgroup_stats, &cgroup_id, initial, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&cgroup_stats, &cgroup_id);
	if (s)
		return s;
	overflowed = bpf_map_lookup_elem(&overflow_events, &zero);
	if (overflowed)
		kscope_add(overflowed, 1);
	cgroup_id = KSCOPE_OVERFLOW_CGROUP;
	return bpf_map_lookup_elem(&cgroup_stats, &cgroup_id);
}

/* Set by user space when the kernel has BTF and CO-RE relocates against it,
 * not against the object's own types (CoreBtf): the current cgroup id is
 * then read through bpf_get_current_task_btf() (5.11+). On the CI host
 * (bpf_stats) that costs 25 ns per event over an empty program, against 50
 * for bpf_get_current_cgroup_id(), which makes more calls (the RCU read
 * lock): there every call and return pays for return-thunk mitigations. */
const volatile bool cgroup_id_from_task = false;

/* The current task's cgroup v2 id, as bpf_get_current_cgroup_id() returns
 * it: task_dfl_cgroup(current)->kn->id. */
static __always_inline __u64 kscope_current_cgroup_id(void)
{
	if (cgroup_id_from_task &&
	    bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		return bpf_get_current_task_btf()->cgroups->dfl_cgrp->kn->id;
	return bpf_get_current_cgroup_id();
}

/* The stats of the current task's cgroup (or the node's). */
static __always_inline KSCOPE_STATS_T *kscope_current_stats(void)
{
	return kscope_stats_for(attribute_cgroup ? kscope_current_cgroup_id() : 0);
}

/* The cgroup v2 id of any task (the kernfs node id, which is the cgroup
 * directory's inode number). */
static __always_inline __u64 kscope_task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* Hook-independent views of a syscall's return value, none needing BTF or
 * CO-RE (so fd and vfs load on a kernel without BTF through tracepoints or
 * kprobes). Syscall exit tracepoint records: ret at offset 16 in every
 * kernel's format file (common fields, __syscall_nr, ret). */
struct kscope_sys_exit {
	__u64 common;
	long syscall_nr;
	long ret;
};

/* x86-64 struct pt_regs, the uapi layout (stable): a kretprobe's return
 * value is in ax, a kprobe's first argument in di. */
struct kscope_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
};

/* Every variant of one syscall hook, so a module names each syscall once:
 *   tp_exit__<sc> / tp_enter__<sc>   syscall tracepoints (attach tracepoint)
 *   fexit__<sc>   / fentry__<sc>     the syscall's kernel function (fentry)
 *   kret__<sc>    / kprobe__<sc>     the same function (kprobe)
 * exit side for mode "return", enter side for mode "entry". fentry and
 * kprobe programs carry no target: user space resolves <sc> to the running
 * kernel's function (__x64_sys_<sc>, ...) before load. on_return is an
 * expression over `long ret`; on_call an expression. */
#define KSCOPE_SYSCALL_RETURN(sc, on_return)                          \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                      \
	int tp_exit__##sc(struct kscope_sys_exit *ctx)                \
	{                                                             \
		long ret = ctx->ret;                                  \
		return on_return;                                     \
	}                                                             \
	SEC("fexit")                                                  \
	int BPF_PROG(fexit__##sc, void *regs, long ret)               \
	{                                                             \
		return on_return;                                     \
	}                                                             \
	SEC("kretprobe")                                              \
	int kret__##sc(struct kscope_regs *ctx)                       \
	{                                                             \
		long ret = ctx->ax;                                   \
		return on_return;                                     \
	}
#define KSCOPE_SYSCALL_CALL(sc, on_call)                              \
	SEC("tracepoint/syscalls/sys_enter_" #sc)                     \
	int tp_enter__##sc(void *ctx)                                 \
	{                                                             \
		return on_call;                                       \
	}                                                             \
	SEC("fentry")                                                 \
	int BPF_PROG(fentry__##sc)                                    \
	{                                                             \
		return on_call;                                       \
	}                                                             \
	SEC("kprobe")                                                 \
	int kprobe__##sc(void *ctx)                                   \
	{                                                             \
		return on_call;                                       \
	}
#define KSCOPE_SYSCALL(sc, on_return, on_call) \
	KSCOPE_SYSCALL_RETURN(sc, on_return) KSCOPE_SYSCALL_CALL(sc, on_call)

char LICENSE[] SEC("license") = "GPL";
