/* process module: processes and threads created, fork errors, task exits,
 * tasks released, and an iter/task program that lists zombie processes.
 * Task events, one variant per attach family, in every mode:
 *   tpbtf__sched_process_{fork,exit,free}   BTF tracepoints (tracepoint)
 *   fentry_fn__<function>                   the functions holding those
 *   kprobe_fn__<function>                   tracepoints (fentry, kprobe)
 * Fork errors: KSCOPE_SYSCALL_RETURN on fork, vfork, clone, clone3 (mode
 * "return" only). iter__zombies runs in every family. */
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

/* A new task, counted for its parent (current, which made it). The child's
 * pid equals its tgid exactly when it leads a new thread group (no
 * CLONE_THREAD): that, not the clone flags or the parent, tells a new
 * process from a new thread. */
static __always_inline void count_created(struct task_struct *child)
{
	if (kscope_skip_task(child))
		return;
	count(kscope_current_stats(), BPF_CORE_READ(child, pid) == BPF_CORE_READ(child, tgid)
					      ? PROCESS_STAT_PROCESS_CREATED
					      : PROCESS_STAT_THREAD_CREATED);
}

/* current is the exiting task. */
static __always_inline void count_exit(struct task_struct *task)
{
	if (!kscope_skip_task(task))
		count(kscope_current_stats(), PROCESS_STAT_TASK_EXITS);
}

/* The task_struct is finally released (after the parent reaped it, or at
 * once for autoreaped threads). Runs from an RCU callback: current is
 * anyone, so use the task's own cgroup (task->cgroups stays valid until the
 * task_struct is put). */
static __always_inline void count_released(struct task_struct *task)
{
	if (!kscope_skip_task(task))
		count(kscope_stats_for(attribute_cgroup ? kscope_task_cgroup_id(task) : 0),
		      PROCESS_STAT_TASK_RELEASED);
}

/* delayed_put_task_struct() gets &task->rcu. */
static __always_inline struct task_struct *task_of_rcu(void *rhp)
{
	return (void *)((unsigned long)rhp - bpf_core_field_offset(struct task_struct, rcu));
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tpbtf__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	count_created(child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tpbtf__sched_process_exit, struct task_struct *task)
{
	count_exit(task);
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(tpbtf__sched_process_free, struct task_struct *task)
{
	count_released(task);
	return 0;
}

/* kernel_clone() calls wake_up_new_task(child) right after the
 * sched_process_fork tracepoint; do_exit() holds sched_process_exit; the
 * RCU callback delayed_put_task_struct() holds sched_process_free. */
SEC("fentry")
int BPF_PROG(fentry_fn__wake_up_new_task, struct task_struct *child)
{
	count_created(child);
	return 0;
}

SEC("fentry")
int BPF_PROG(fentry_fn__do_exit, long code)
{
	/* Not bpf_get_current_task_btf(): 5.10 lacks it. */
	count_exit((struct task_struct *)bpf_get_current_task());
	return 0;
}

SEC("fentry")
int BPF_PROG(fentry_fn__delayed_put_task_struct, void *rhp)
{
	count_released(task_of_rcu(rhp));
	return 0;
}

SEC("kprobe")
int kprobe_fn__wake_up_new_task(struct kscope_regs *ctx)
{
	count_created((struct task_struct *)ctx->di);
	return 0;
}

SEC("kprobe")
int kprobe_fn__do_exit(void *ctx)
{
	count_exit((struct task_struct *)bpf_get_current_task());
	return 0;
}

SEC("kprobe")
int kprobe_fn__delayed_put_task_struct(struct kscope_regs *ctx)
{
	count_released(task_of_rcu((void *)ctx->di));
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

#define CREATE_SYSCALL(sc) KSCOPE_SYSCALL_RETURN(sc, count_create_return(ret))

CREATE_SYSCALL(fork)
CREATE_SYSCALL(vfork)
CREATE_SYSCALL(clone)
CREATE_SYSCALL(clone3)

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
