/* fd module: open and close calls and their errors. Every syscall has every
 * variant (see KSCOPE_SYSCALL in kscope.bpf.h); user space loads one. */
#include "vmlinux.h"
#include "fd.h"

#define KSCOPE_STATS_T struct fd_stats
#include "kscope.bpf.h"

static __always_inline int count_call(enum fd_stat calls)
{
	struct fd_stats *s;

	if (kscope_skip_current())
		return 0;
	s = kscope_current_stats();
	if (s)
		kscope_add(&s->v[calls], 1);
	return 0;
}

static __always_inline int count_return(enum fd_stat calls, enum fd_stat errors, long ret)
{
	struct fd_stats *s;

	if (kscope_skip_current())
		return 0;
	s = kscope_current_stats();
	if (!s)
		return 0;
	kscope_add(&s->v[calls], 1);
	if (ret < 0)
		kscope_add(&s->v[errors], 1);
	return 0;
}

#define FD_SYSCALL(sc, stat) \
	KSCOPE_SYSCALL(sc, count_return(stat##_CALLS, stat##_ERRORS, ret), count_call(stat##_CALLS))

FD_SYSCALL(open, FD_STAT_OPEN)
FD_SYSCALL(openat, FD_STAT_OPEN)
FD_SYSCALL(openat2, FD_STAT_OPEN)
FD_SYSCALL(creat, FD_STAT_OPEN)
FD_SYSCALL(open_by_handle_at, FD_STAT_OPEN)
FD_SYSCALL(close, FD_STAT_CLOSE)
FD_SYSCALL(close_range, FD_STAT_CLOSE)
