/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which file an event is about, as the process sees it: the file a
 * process names (its path, what stat(2) returns) and the identity that
 * lets the client prove that a file it opens later is that same file.
 */
#ifndef KSM_FILE_BPF_H
#define KSM_FILE_BPF_H

#include "ksysmon_bpf.h"

/* struct inode's change time before 6.11 (__i_ctime since 6.6, i_ctime
 * before): CO-RE picks the one the running kernel has. */
struct inode___ctime66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_old {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline __u64 inode_ctime_ns(struct inode *inode)
{
	__s64 sec;
	__u64 nsec;

	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		sec = BPF_CORE_READ(inode, i_ctime_sec);
		/* since 6.13 the top bit says the time was queried (I_CTIME_QUERIED) */
		nsec = BPF_CORE_READ(inode, i_ctime_nsec) & 0x7fffffffu;
	} else if (bpf_core_field_exists(((struct inode___ctime66 *)inode)->__i_ctime)) {
		struct inode___ctime66 *i = (void *)inode;
		sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		nsec = BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else {
		struct inode___ctime_old *i = (void *)inode;
		sec = BPF_CORE_READ(i, i_ctime.tv_sec);
		nsec = BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
	return (__u64)sec * 1000000000ull + nsec;
}

/*
 * The identity of the file stat(2) reports for `shown` (the inode the
 * process names: device and inode number), with the size and change time
 * of `content`, the inode that holds the data: for a file on an overlay
 * they differ, and the overlay's stat(2) passes the layer file's size and
 * times through.
 */
static __always_inline void file_id_fill(struct ksm_file_id *id, struct inode *shown,
					 struct inode *content)
{
	id->inode = BPF_CORE_READ(shown, i_ino);
	id->dev = ksm_encode_dev(BPF_CORE_READ(shown, i_sb, s_dev));
	id->size = BPF_CORE_READ(content, i_size);
	id->ctime = inode_ctime_ns(content);
	id->reserved = 0;
}

/* A stacked filesystem (overlayfs, FUSE passthrough) maps its layer's
 * file, a "backing file" (since 6.6; FMODE_BACKING marks it: bit 25 until
 * 6.11, bit 24 since).  From 6.8 its f_path is the layer's and the path the
 * process opened is kept as user_path; in 6.6 and 6.7 f_path is already the
 * process's path (no user_path field); before 6.6 the mapping holds the
 * layer's file and nothing else: the path is the layer's (not exact). */
#define KSM_FMODE_BACKING_BITS ((1u << 24) | (1u << 25))

struct backing_file___ksm {
	struct file file;
	struct path user_path;
} __attribute__((preserve_access_index));

/*
 * The path the process named for file f (what /proc/PID/maps shows):
 * f's own path, or for a backing file the user path it carries.  The
 * candidate is checked to be a consistent path on another superblock, so
 * that a bit of another meaning in f_mode is never taken for the flag.
 */
static __always_inline void user_path(struct file *f, struct vfsmount **mnt,
				      struct dentry **dentry)
{
	*mnt = BPF_CORE_READ(f, f_path.mnt);
	*dentry = BPF_CORE_READ(f, f_path.dentry);
	struct backing_file___ksm *bf = (void *)f;
	if (!bpf_core_field_exists(bf->user_path) ||
	    !(BPF_CORE_READ(f, f_mode) & KSM_FMODE_BACKING_BITS))
		return;
	struct vfsmount *um = BPF_CORE_READ(bf, user_path.mnt);
	struct dentry *ud = BPF_CORE_READ(bf, user_path.dentry);
	struct super_block *sb = BPF_CORE_READ(ud, d_sb);
	if (!um || !ud || !BPF_CORE_READ(ud, d_inode) || sb != BPF_CORE_READ(um, mnt_sb) ||
	    sb == BPF_CORE_READ(*dentry, d_sb))
		return;
	*mnt = um;
	*dentry = ud;
}

#endif
