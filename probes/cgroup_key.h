/* Shared by the BPF programs and user space. */
#ifndef KSCOPE_CGROUP_KEY_H
#define KSCOPE_CGROUP_KEY_H

/* cgroup_stats key of the events whose cgroup found the map full. No real
 * cgroup has this id. */
#define KSCOPE_OVERFLOW_CGROUP 0xffffffffffffffffULL

/* Slots of the per-CPU cgroup cache (a power of two: a cgroup's slot is
 * its id's low bits). */
#define KSCOPE_CGROUP_CACHE_SLOTS 64

#endif
