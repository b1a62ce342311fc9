/* process module: what process.bpf.c counts, shared with
 * exporter/collectors/process.cpp. */
#ifndef KSCOPE_PROCESS_H
#define KSCOPE_PROCESS_H

enum process_stat {
	PROCESS_STAT_PROCESS_CREATED, /* new thread group (child is its leader) */
	PROCESS_STAT_THREAD_CREATED,  /* new thread in the parent's group */
	PROCESS_STAT_CREATE_CALLS,    /* fork, vfork, clone, clone3 returns seen */
	PROCESS_STAT_CREATE_ERRORS,   /* ... that returned an error */
	PROCESS_STAT_TASK_EXITS,
	PROCESS_STAT_TASK_RELEASED,
	PROCESS_STAT_MAX,
};

struct process_stats {
	__u64 v[PROCESS_STAT_MAX];
};

/* What the zombie iterator writes for each zombie process. */
struct process_zombie {
	__u64 cgroup_id; /* the zombie's own cgroup v2 */
	__u32 pid;
	__u32 pad;
};

#endif
