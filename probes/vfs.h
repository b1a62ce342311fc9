/* vfs module: what vfs.bpf.c counts, shared with exporter/collectors/vfs.cpp. */
#ifndef KSCOPE_VFS_H
#define KSCOPE_VFS_H

enum vfs_stat {
	VFS_STAT_READ_CALLS,
	VFS_STAT_READ_ERRORS,
	VFS_STAT_READ_BYTES,
	VFS_STAT_WRITE_CALLS,
	VFS_STAT_WRITE_ERRORS,
	VFS_STAT_WRITE_BYTES,
	VFS_STAT_UNLINK_CALLS,
	VFS_STAT_UNLINK_ERRORS,
	VFS_STAT_FSYNC_CALLS,
	VFS_STAT_FSYNC_ERRORS,
	VFS_STAT_MAX,
};

/* Size histogram slots: slot i counts sizes in (2^(i-1), 2^i] (slot 0: 0 and
 * 1), i.e. Prometheus le="2^i" for i < VFS_SIZE_INF_SLOT; the last slot is
 * +Inf. 2^30 (1 GiB) is the last finite bound: Linux caps one read or write
 * at MAX_RW_COUNT, just under 2 GiB. */
enum {
	VFS_SIZE_INF_SLOT = 31,
	VFS_SIZE_SLOTS = 32,
};

struct vfs_stats {
	__u64 v[VFS_STAT_MAX];
	__u64 read_size[VFS_SIZE_SLOTS];
	__u64 write_size[VFS_SIZE_SLOTS];
};

#endif
