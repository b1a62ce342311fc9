/* fd module: what fd.bpf.c counts, shared with exporter/collectors/fd.cpp.
 * No includes: each side brings its own __u64. */
#ifndef KSCOPE_FD_H
#define KSCOPE_FD_H

enum fd_stat {
	FD_STAT_OPEN_CALLS,
	FD_STAT_OPEN_ERRORS,
	FD_STAT_CLOSE_CALLS,
	FD_STAT_CLOSE_ERRORS,
	FD_STAT_MAX,
};

struct fd_stats {
	__u64 v[FD_STAT_MAX];
};

#endif
