/* Benchmark floor: empty programs on exactly the hooks kscope uses, so the
 * bench can tell the cost of being hooked at all (the kernel's tracepoint
 * and BPF dispatch) from the cost of kscope's counting.
 * exit__*: mode "return" (syscall exit tracepoints, as fd, vfs, process);
 * enter__*: mode "entry"; btf__*: both modes (process module).
 * raw__*: one BTF raw tracepoint on every syscall exit, an alternative.
 * shared__*: kscope's read counting on ONE shared slot for all CPUs instead
 * of a per-CPU one, to show what per-CPU counting saves on two CPUs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "le_slot.h"

#define FLOOR_EXIT(sc)                                   \
	SEC("tracepoint/syscalls/sys_exit_" #sc)         \
	int exit__##sc(void *ctx)                        \
	{                                                \
		return 0;                                \
	}
#define FLOOR_ENTER(sc)                                  \
	SEC("tracepoint/syscalls/sys_enter_" #sc)        \
	int enter__##sc(void *ctx)                       \
	{                                                \
		return 0;                                \
	}
#define FLOOR_SYSCALL(sc) FLOOR_EXIT(sc) FLOOR_ENTER(sc)

/* fd module */
FLOOR_SYSCALL(open)
FLOOR_SYSCALL(openat)
FLOOR_SYSCALL(openat2)
FLOOR_SYSCALL(creat)
FLOOR_SYSCALL(open_by_handle_at)
FLOOR_SYSCALL(close)
FLOOR_SYSCALL(close_range)

/* vfs module */
FLOOR_SYSCALL(read)
FLOOR_SYSCALL(readv)
FLOOR_SYSCALL(pread64)
FLOOR_SYSCALL(preadv)
FLOOR_SYSCALL(preadv2)
FLOOR_SYSCALL(write)
FLOOR_SYSCALL(writev)
FLOOR_SYSCALL(pwrite64)
FLOOR_SYSCALL(pwritev)
FLOOR_SYSCALL(pwritev2)
FLOOR_SYSCALL(unlink)
FLOOR_SYSCALL(unlinkat)
FLOOR_SYSCALL(rmdir)
FLOOR_SYSCALL(fsync)
FLOOR_SYSCALL(fdatasync)
FLOOR_SYSCALL(sync_file_range)

/* process module: fork errors on the exit side only (entry mode has none) */
FLOOR_EXIT(fork)
FLOOR_EXIT(vfork)
FLOOR_EXIT(clone)
FLOOR_EXIT(clone3)

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf__sched_process_exit, struct task_struct *task)
{
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(btf__sched_process_free, struct task_struct *task)
{
	return 0;
}

/* A design alternative, not kscope's hooks: one raw tracepoint on every
 * syscall's exit instead of one syscall tracepoint per syscall. */
SEC("tp_btf/sys_exit")
int BPF_PROG(raw__sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

/* What vfs.bpf.c does for a read (calls, bytes, size slot), in one plain
 * array entry shared by every CPU: the cache line moves between CPUs. */
struct shared_read_stats {
	__u64 calls, errors, bytes;
	__u64 size[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shared_read_stats);
} shared_read_map SEC(".maps");

SEC("tracepoint/syscalls/sys_exit_read")
int shared__read(struct trace_event_raw_sys_exit *ctx)
{
	__u32 zero = 0;
	struct shared_read_stats *s = bpf_map_lookup_elem(&shared_read_map, &zero);
	long ret = ctx->ret;

	if (!s)
		return 0;
	__sync_fetch_and_add(&s->calls, 1);
	if (ret < 0) {
		__sync_fetch_and_add(&s->errors, 1);
		return 0;
	}
	__sync_fetch_and_add(&s->bytes, ret);
	__sync_fetch_and_add(&s->size[kscope_le_slot(ret, 31)], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
