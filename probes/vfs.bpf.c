/* vfs module: read/write calls, errors, bytes and size histograms; unlinks;
 * fsyncs. Every syscall has every variant (KSCOPE_SYSCALL in kscope.bpf.h). */
#include "vmlinux.h"
#include "vfs.h"

#define KSCOPE_STATS_T struct vfs_stats
#include "kscope.bpf.h"

static __always_inline int count_call(enum vfs_stat calls)
{
	struct vfs_stats *s;

	if (kscope_skip_current())
		return 0;
	s = kscope_current_stats();
	if (s)
		kscope_add(&s->v[calls], 1);
	return 0;
}

static __always_inline int count_return(enum vfs_stat calls, enum vfs_stat errors, long ret)
{
	struct vfs_stats *s;

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

/* Reads and writes: also bytes returned and the size histogram. */
static __always_inline int count_io(bool write, long ret)
{
	struct vfs_stats *s;
	__u32 slot;

	if (kscope_skip_current())
		return 0;
	s = kscope_current_stats();
	if (!s)
		return 0;
	kscope_add(&s->v[write ? VFS_STAT_WRITE_CALLS : VFS_STAT_READ_CALLS], 1);
	if (ret < 0) {
		kscope_add(&s->v[write ? VFS_STAT_WRITE_ERRORS : VFS_STAT_READ_ERRORS], 1);
		return 0;
	}
	kscope_add(&s->v[write ? VFS_STAT_WRITE_BYTES : VFS_STAT_READ_BYTES], ret);
	slot = kscope_le_slot(ret, VFS_SIZE_INF_SLOT);
	/* The verifiers of 5.10 and 6.1 lose the clamp's bound on the register
	 * that indexes ("unbounded memory access"): bound that one again. */
	barrier_var(slot);
	slot &= VFS_SIZE_SLOTS - 1;
	if (write)
		kscope_add(&s->write_size[slot], 1);
	else
		kscope_add(&s->read_size[slot], 1);
	return 0;
}

#define VFS_IO(sc, write) \
	KSCOPE_SYSCALL(sc, count_io(write, ret), \
		       count_call((write) ? VFS_STAT_WRITE_CALLS : VFS_STAT_READ_CALLS))
#define VFS_SYSCALL(sc, stat) \
	KSCOPE_SYSCALL(sc, count_return(stat##_CALLS, stat##_ERRORS, ret), count_call(stat##_CALLS))

VFS_IO(read, false)
VFS_IO(readv, false)
VFS_IO(pread64, false)
VFS_IO(preadv, false)
VFS_IO(preadv2, false)
VFS_IO(write, true)
VFS_IO(writev, true)
VFS_IO(pwrite64, true)
VFS_IO(pwritev, true)
VFS_IO(pwritev2, true)

VFS_SYSCALL(unlink, VFS_STAT_UNLINK)
VFS_SYSCALL(unlinkat, VFS_STAT_UNLINK)
VFS_SYSCALL(rmdir, VFS_STAT_UNLINK)
VFS_SYSCALL(fsync, VFS_STAT_FSYNC)
VFS_SYSCALL(fdatasync, VFS_STAT_FSYNC)
VFS_SYSCALL(sync_file_range, VFS_STAT_FSYNC)
