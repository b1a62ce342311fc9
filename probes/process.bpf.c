/* process module: processes and threads created, fork errors, task exits,
 * tasks released, and an iter/task program that lists zombie processes.
 * Variants: tpbtf__* (BTF tracepoints, every mode), tp_exit__* (syscall exit
 * tracepoints for fork errors: mode "return" only), iter__* (every mode). */
#include "vmlinux.h"
#include "process.h"

#define KSCOPE_STATS_T struct process_stats
#include "kscope.bpf.h"

/* include/linux/sched.h; macros are not in BTF. */
#define EXIT_ZOMBIE 0x00000020

static __always_inline void count(struct process_stats *s, enum process_stat stat)
{
	if (s)
		kscope_add(&s->v[stat], 1);
}

/* The child's pid equals its tgid exactly when it leads a new thread group
 * (no CLONE_THREAD): that, not the clone flags or the parent, tells a new
 * process from a new thread. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tpbtf__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	if (kscope_skip_task(child))
		return 0;
	/* Attributed to the parent (current), which made it. */
	count(kscope_current_stats(), child->pid == child->tgid ? PROCESS_STAT_PROCESS_CREATED
								: PROCESS_STAT_THREAD_CREATED);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tpbtf__sched_process_exit, struct task_struct *task)
{
	if (!kscope_skip_task(task)) /* current is the exiting task */
		count(kscope_current_stats(), PROCESS_STAT_TASK_EXITS);
	return 0;
}

/* Fires when the task_struct is finally released (after the parent reaped
 * it, or at once for autoreaped threads). */
SEC("tp_btf/sched_process_free")
int BPF_PROG(tpbtf__sched_process_free, struct task_struct *task)
{
	/* Runs from an RCU callback: current is anyone, so use the task's own
	 * cgroup (task->cgroups stays valid until the task_struct is put). */
	if (!kscope_skip_task(task))
		count(kscope_stats_for(attribute_cgroup ? kscope_task_cgroup_id(task) : 0),
		      PROCESS_STAT_TASK_RELEASED);
	return 0;
}

static __always_inline int count_create_return(long ret)
{
	struct process_stats *s;

	if (kscope_skip_current())
		return 0;
	s = kscope_current_stats();
	if (!s)
		return 0;
	kscope_add(&s->v[PROCESS_STAT_CREATE_CALLS], 1);
	if (ret < 0)
		kscope_add(&s->v[PROCESS_STAT_CREATE_ERRORS], 1);
	return 0;
}

#define CREATE_EXIT(sc)                                          \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                 \
	int tp_exit__##sc(struct trace_event_raw_sys_exit *ctx)  \
	{                                                        \
		return count_create_return(ctx->ret);            \
	}

CREATE_EXIT(fork)
CREATE_EXIT(vfork)
CREATE_EXIT(clone)
CREATE_EXIT(clone3)

/* Zombie processes, exactly, at the moment of the sample: thread-group
 * leaders whose exit_state is EXIT_ZOMBIE and whose group has no live thread
 * left (a leader that exited before its threads is not a zombie process). */
SEC("iter/task")
int iter__zombies(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct process_zombie z = {};

	if (!task)
		return 0;
	if (task->pid != task->tgid || !(task->exit_state & EXIT_ZOMBIE))
		return 0;
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (kscope_skip_task(task))
		return 0;
	z.pid = task->pid;
	z.cgroup_id = kscope_task_cgroup_id(task);
	bpf_seq_write(ctx->meta->seq, &z, sizeof(z));
	return 0;
}
