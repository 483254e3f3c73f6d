/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Path resolution in BPF.  bpf_d_path() is only offered to fentry/LSM
 * programs, which these machines refuse, so the path is rebuilt here the way
 * d_path() does it: from the dentry up to its mount's root, then across to
 * the mount point in the parent mount, until the task's root or the global
 * root.  Names are written backwards from the end of a per-CPU buffer.
 */
#ifndef KSM_PATH_BPF_H
#define KSM_PATH_BPF_H

#include "ksysmon_bpf.h"

#define KSM_NAME_MASK 255 /* NAME_MAX */
#define KSM_POS_MASK (KSM_PATH_MAX - 1)

struct path_scratch {
	/* The write position lives in the map, not in a register: reloaded
	 * each iteration it is an unknown (masked) value to the verifier, so
	 * the states of successive iterations can be pruned instead of
	 * multiplying across the loop's branches. */
	__u32 pos;
	__u32 pad;
	char buf[KSM_PATH_MAX + KSM_NAME_MASK + 1];
};

#define POS(s) (*(volatile __u32 *)&(s)->pos)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

/* (ksm_: a kernel may have an enum path_flags of its own) */
enum ksm_path_flags {
	PATH_TRUNCATED = 1u << 0,
	PATH_UNLINKED = 1u << 1,
	/* the walk ended at the top of a mount tree that is in no mount
	 * namespace: the path is from that top, and no root leads to it */
	PATH_UNREACHABLE = 1u << 2,
};

/* struct mnt_namespace's sequence number before 6.18 (0: anonymous),
 * ns.ns_id since: CO-RE picks the one the running kernel has */
struct mnt_namespace___seq {
	__u64 seq;
} __attribute__((preserve_access_index));

struct ns_common___id {
	__u64 ns_id;
} __attribute__((preserve_access_index));

struct mnt_namespace___id {
	struct ns_common___id ns;
} __attribute__((preserve_access_index));

#define KSM_MAX_ERRNO 4095

/*
 * Whether a mount without a parent is in no namespace, so that no root
 * leads to what lies on it: not mounted any more (unmounted with
 * MNT_DETACH while a file or directory on it is still in use: mnt_ns is
 * NULL), a kernel-internal mount (MNT_NS_INTERNAL, an error pointer:
 * shm_mnt, a stacked filesystem's private mount of its layer), or the root
 * of an anonymous namespace (an open_tree(OPEN_TREE_CLONE) or fsmount()
 * tree not attached: the kernel's is_anon_ns()).  Otherwise it is the
 * root of a mount namespace.  d_path() tells these apart the same way
 * (prepend_path()'s "detached or not attached yet"), but shows both alike.
 */
static __always_inline bool mount_detached(struct mount *mnt)
{
	struct mnt_namespace *ns = BPF_CORE_READ(mnt, mnt_ns);
	__u64 at = (__u64)ns;

	if (!at || at >= (__u64)-KSM_MAX_ERRNO)
		return true;
	struct mnt_namespace___seq *old = (void *)ns;
	if (bpf_core_field_exists(old->seq))
		return BPF_CORE_READ(old, seq) == 0;
	struct mnt_namespace___id *cur = (void *)ns;
	if (bpf_core_field_exists(cur->ns.ns_id))
		return BPF_CORE_READ(cur, ns.ns_id) == 0;
	return false;
}

static __always_inline bool dentry_unlinked(struct dentry *d)
{
	/* d_unhashed() && !IS_ROOT(): what makes d_path() add " (deleted)" */
	return !BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d;
}

/*
 * n & mask, computed where it is used.  Some verifiers (6.12) lose the
 * bound of a length compared through a register linked to it (len + 1
 * against pos); a mask the compiler cannot fold away restores it.
 */
static __always_inline __u64 bounded(__u64 n, __u64 mask)
{
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(mask));
	return n;
}

/* The walkers' result: the start position in the buffer ("/" for an empty
 * walk, the root itself) and the flags, PATH_TRUNCATED when too_deep. */
static __always_inline __u64 walk_result(struct path_scratch *s, bool too_deep, __u64 flags)
{
	__u32 pos = POS(s);

	if (too_deep)
		flags |= PATH_TRUNCATED;
	if (pos == KSM_PATH_MAX) {
		pos -= 1;
		s->buf[pos & KSM_POS_MASK] = '/';
	}
	return flags << 32 | pos;
}

/* Where path_walk() stops */
enum ksm_walk_to {
	WALK_TO_ROOT = 0, /* the current task's root */
	WALK_TO_TOP = 1,  /* the top of the mount tree (as /proc/PID/root shows it to the host) */
	WALK_TO_FS = 2,   /* the top of the dentry's filesystem: no mount is crossed */
};

/*
 * Walks the path of (mnt, dentry) into the per-CPU buffer, ending at
 * buf[KSM_PATH_MAX], up to where `to` (enum ksm_walk_to) says; returns the
 * start position, and enum ksm_path_flags in the upper 32 bits.  A walk
 * that crosses mounts and ends at a tree in no namespace (mount_detached)
 * says so with PATH_UNREACHABLE: what it wrote is the path from that tree's
 * top, not from a root.  A global function: the verifier checks it once,
 * apart from its callers' states.
 */
__noinline __u64 path_walk(__u64 vfsmnt_addr, __u64 dentry_addr, __u64 to)
{
	bool to_top = to != WALK_TO_ROOT, in_fs = to == WALK_TO_FS;
	struct vfsmount *vfsmnt = (struct vfsmount *)vfsmnt_addr;
	struct dentry *dentry = (struct dentry *)dentry_addr;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = to_top ? NULL : BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = to_top ? NULL : BPF_CORE_READ(task, fs, root.mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	__u32 zero = 0, pos, i;
	__u64 flags = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratch, &zero);

	if (!s || !dentry)
		return KSM_PATH_MAX;
	if (dentry_unlinked(dentry))
		flags |= PATH_UNLINKED;
	POS(s) = KSM_PATH_MAX;

	for (i = 0; i < KSM_PATH_DEPTH; i++) {
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		if (in_fs && dentry == parent)
			break; /* the filesystem's root */
		if (dentry == mnt_root && !in_fs) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (mnt_parent == mnt) {
				/* a namespace's root, or the top of a tree in none */
				if (mount_detached(mnt))
					flags |= PATH_UNREACHABLE;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		struct qstr name = BPF_CORE_READ(dentry, d_name);
		__u32 len = name.len & KSM_NAME_MASK;
		pos = POS(s);
		if (len + 1 >= pos) {
			flags |= PATH_TRUNCATED;
			break;
		}
		pos -= len;
		bpf_probe_read_kernel(&s->buf[pos & KSM_POS_MASK], bounded(len, KSM_NAME_MASK), name.name);
		pos -= 1;
		s->buf[pos & KSM_POS_MASK] = '/';
		POS(s) = pos;
		if (dentry == parent) {
			/* a pseudo file (memfd, ...): its name is all there is, and
			 * d_path() shows it as "/name (deleted)" (simple_dname) */
			flags |= PATH_UNLINKED;
			break;
		}
		dentry = parent;
	}
	return walk_result(s, i == KSM_PATH_DEPTH, flags);
}

/*
 * Writes the path of (mnt, dentry) to dst (no NUL); returns its length
 * (< KSM_PATH_MAX).  *flags gets PATH_TRUNCATED when the path did not fit
 * or was too deep, PATH_UNLINKED when the file was deleted,
 * PATH_UNREACHABLE when it lies on a tree in no namespace.
 */
static __always_inline __u32 path_resolve(struct vfsmount *vfsmnt, struct dentry *dentry,
					  char *dst, __u32 *flags)
{
	__u32 zero = 0;
	__u64 r = path_walk((__u64)vfsmnt, (__u64)dentry, WALK_TO_ROOT);
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratch, &zero);

	*flags = r >> 32;
	if (!s)
		return 0;
	__u32 pos = (__u32)r & KSM_POS_MASK;
	__u32 len = (KSM_PATH_MAX - (__u32)r) & KSM_POS_MASK;
	bpf_probe_read_kernel(dst, len, &s->buf[pos]);
	return len;
}

#endif
