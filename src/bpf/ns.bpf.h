/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The namespaces and cgroup of a process (struct ksm_task_ns), read from
 * the kernel's own structures as /proc/PID/ns, /proc/PID/status (NSpid,
 * Uid and Gid read inside the namespace) and /proc/PID/cgroup report them.
 * Layouts that changed across kernels are read through CO-RE flavours.
 */
#ifndef KSM_NS_BPF_H
#define KSM_NS_BPF_H

#include "ksysmon_bpf.h"
#include "path.bpf.h"

#define KSM_PIDNS_LEVEL_MAX 32  /* MAX_PID_NS_LEVEL: levels 0 (the host's) to 32 */
#define KSM_PIDNS_LEVEL_MASK 63 /* covers them all: the bound the verifier sees */
#define KSM_INIT_TREE_DEPTH 64  /* processes walked towards a namespace's init: the process and 63 parents */
#define KSM_ID_EXTENTS_MAX 340  /* UID_GID_MAP_MAX_EXTENTS */
#define KSM_ID_BASE_EXTENTS 5   /* UID_GID_MAP_MAX_BASE_EXTENTS: inline extents */
#define KSM_CGROUP_DEPTH 64     /* cgroup levels walked */
#define KSM_NS_POS_MASK (KSM_NS_PATH_MAX - 1)
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* the inode of the monitor's own mount namespace (/proc/self/ns/mnt):
 * the root of a process in another one is told by its filesystem; 0: all
 * roots are walked as paths */
const volatile __u32 host_mnt_ns = 0;

_Static_assert((KSM_NS_PATH_MAX & (KSM_NS_PATH_MAX - 1)) == 0, "mask");

/* kernfs_node's parent: __parent since 6.15, parent before (the types
 * kept in the tree have one or the other) */
struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* overlayfs's inode: the upper layer's dentry, when the file has one */
struct ovl_inode___ksm {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
} __attribute__((preserve_access_index));

/* One id of a pid: its number and namespace at a level. */
static __always_inline bool pid_at(struct pid *pid, __u32 level, struct upid *out)
{
	if (!pid || level > KSM_PIDNS_LEVEL_MAX || level > BPF_CORE_READ(pid, level))
		return false;
	void *at = (void *)pid + bpf_core_field_offset(struct pid, numbers) +
		   (level & KSM_PIDNS_LEVEL_MASK) * bpf_core_type_size(struct upid);
	return !bpf_probe_read_kernel(out, sizeof(*out), at);
}

/* The struct pid of a task's process (its thread-group leader). */
static __always_inline struct pid *process_pid(struct task_struct *t)
{
	return BPF_CORE_READ(t, group_leader, thread_pid);
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	struct kernfs_node___new *kn_new = (void *)kn;
	if (bpf_core_field_exists(kn_new->__parent))
		return BPF_CORE_READ(kn_new, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* A kernfs name, read before its length is known. */
struct kn_name {
	char name[KSM_NAME_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kn_name);
} kn_name_scratch SEC(".maps");

/*
 * The path of a cgroup in the unified hierarchy, from its root, as
 * /proc/PID/cgroup's "0::" line shows it to a reader in the initial cgroup
 * namespace, written backwards to the per-CPU path buffer as path_walk()
 * does.  Returns the start position, and PATH_TRUNCATED in the upper 32
 * bits when the path did not fit or was too deep.  A global function.
 */
__noinline __u64 cgroup_walk(__u64 kn_addr)
{
	struct kernfs_node *kn = (struct kernfs_node *)kn_addr;
	__u32 zero = 0, pos, i;
	__u64 flags = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratch, &zero);
	struct kn_name *t = bpf_map_lookup_elem(&kn_name_scratch, &zero);

	if (!s || !t || !kn)
		return KSM_PATH_MAX;
	POS(s) = KSM_PATH_MAX;
	for (i = 0; i < KSM_CGROUP_DEPTH; i++) {
		struct kernfs_node *parent = kn_parent(kn);
		if (!parent)
			break; /* the hierarchy's root */
		long n = bpf_probe_read_kernel_str(t->name, sizeof(t->name), BPF_CORE_READ(kn, name));
		__u32 len = n > 0 ? (n - 1) & KSM_NAME_MASK : 0;
		pos = POS(s);
		if (len + 1 >= pos) {
			flags |= PATH_TRUNCATED;
			break;
		}
		pos -= len;
		bpf_probe_read_kernel(&s->buf[pos & KSM_POS_MASK], bounded(len, KSM_NAME_MASK), t->name);
		pos -= 1;
		s->buf[pos & KSM_POS_MASK] = '/';
		POS(s) = pos;
		kn = parent;
	}
	return walk_result(s, i == KSM_CGROUP_DEPTH, flags);
}

/* Copies the path the walker left at r's position to dst, at most its
 * last KSM_NS_PATH_MAX - 1 bytes; sets cut_flag in *flags when cut. */
static __always_inline __u32 ns_path_copy(__u64 r, char *dst, __u16 *flags, __u16 cut_flag,
					  __u16 deleted_flag)
{
	__u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!s)
		return 0;
	__u32 pos = (__u32)r & KSM_POS_MASK;
	__u32 len = (KSM_PATH_MAX - (__u32)r) & KSM_POS_MASK;
	if ((r >> 32) & PATH_TRUNCATED)
		*flags |= cut_flag;
	if ((r >> 32) & PATH_UNLINKED)
		*flags |= deleted_flag;
	if (len > KSM_NS_PATH_MAX - 1) {
		pos += len - (KSM_NS_PATH_MAX - 1);
		len = KSM_NS_PATH_MAX - 1;
		*flags |= cut_flag;
	}
	bpf_probe_read_kernel(dst, len & KSM_NS_POS_MASK, &s->buf[pos & KSM_POS_MASK]);
	return len & KSM_NS_POS_MASK;
}

/*
 * An id as a user namespace shows it: the host id through the
 * namespace's map (its lower ids are host ids, whatever the nesting), as
 * map_id_up() does.  Returns the id, KSM_NS_ID_UNMAPPED, or bit 32 set
 * when the map could not be read.  A global function: checked once.
 */
__noinline __u64 ns_map_id(__u64 map_addr, __u32 id)
{
	struct uid_gid_map *map = (struct uid_gid_map *)map_addr;
	struct uid_gid_extent e, *ext;
	__u32 n, i;

	if (!map)
		return 1ull << 32;
	n = BPF_CORE_READ(map, nr_extents);
	if (n > KSM_ID_EXTENTS_MAX)
		return 1ull << 32;
	if (n <= KSM_ID_BASE_EXTENTS)
		ext = (void *)map + bpf_core_field_offset(map->extent);
	else
		ext = BPF_CORE_READ(map, forward);
	for (i = 0; i < KSM_ID_EXTENTS_MAX; i++) {
		if (i >= n)
			break;
		if (bpf_probe_read_kernel(&e, sizeof(e), &ext[i]))
			return 1ull << 32;
		if (id - e.lower_first < e.count)
			return id - e.lower_first + e.first;
	}
	return KSM_NS_ID_UNMAPPED;
}

/* ns_uid, ns_gid, ns_euid when the process's user namespace is not the
 * initial one. */
static __always_inline void ns_ids(struct ksm_task_ns *ns, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);
	struct user_namespace *user = BPF_CORE_READ(cred, user_ns);

	ns->ns_uid = ns->ns_euid = ns->ns_gid = 0;
	if (!BPF_CORE_READ(user, level))
		return;
	ns->flags |= KSM_NS_USER;
	__u64 uid = ns_map_id((__u64)&user->uid_map, BPF_CORE_READ(cred, uid.val));
	__u64 euid = ns_map_id((__u64)&user->uid_map, BPF_CORE_READ(cred, euid.val));
	__u64 gid = ns_map_id((__u64)&user->gid_map, BPF_CORE_READ(cred, gid.val));
	if ((uid | euid | gid) >> 32) {
		ns->flags |= KSM_NS_IDS_UNKNOWN;
		return;
	}
	ns->ns_uid = uid;
	ns->ns_euid = euid;
	ns->ns_gid = gid;
}

/*
 * Whether the parents of a process inside its pid namespace (level) lead
 * to the namespace's init: a process podman exec or nsenter put there has
 * a parent outside instead.  Sets KSM_NS_INIT_TREE_KNOWN unless the walk
 * was too deep.
 */
static __always_inline void init_tree(struct ksm_task_ns *ns, struct task_struct *task,
				      __u32 level, struct pid_namespace *pidns)
{
	struct upid u;

	for (int i = 0; i < KSM_INIT_TREE_DEPTH; i++) {
		if (!pid_at(process_pid(task), level, &u) || u.ns != pidns) {
			ns->flags |= KSM_NS_INIT_TREE_KNOWN;
			return; /* a parent outside the namespace */
		}
		if (u.nr == 1) {
			ns->flags |= KSM_NS_INIT_TREE_KNOWN | KSM_NS_IN_INIT_TREE;
			return;
		}
		task = BPF_CORE_READ(task, real_parent);
	}
}

/* The pid namespace facts: level, vpid, vppid, container start, init tree. */
static __always_inline void ns_pids(struct ksm_task_ns *ns, struct task_struct *task)
{
	struct pid *pid = process_pid(task);
	__u32 level = BPF_CORE_READ(pid, level);
	struct upid u = {};

	ns->pid_ns_level = level;
	ns->vpid = ns->vppid = 0;
	ns->container_start = 0;
	if (!pid_at(pid, level, &u))
		return;
	ns->pid_ns = BPF_CORE_READ(u.ns, ns.inum);
	if (!level)
		return;
	ns->flags |= KSM_NS_PID;
	ns->vpid = u.nr;
	struct pid_namespace *pidns = u.ns;
	struct upid pu;
	/* as getppid() inside: 0 when the parent is outside the namespace */
	if (pid_at(process_pid(BPF_CORE_READ(task, real_parent)), level, &pu) && pu.ns == pidns)
		ns->vppid = pu.nr;
	struct task_struct *reaper = BPF_CORE_READ(pidns, child_reaper);
	if (reaper)
		ns->container_start = BPF_CORE_READ(reaper, group_leader, start_boottime);
	init_tree(ns, task, level, pidns);
}

/*
 * The cgroup v2 id of task itself (in a threaded subtree a thread's may
 * differ from its process's): the inode of its directory in the unified
 * hierarchy, as bpf_get_current_cgroup_id() gives it; 0: none.
 */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	return kn ? BPF_CORE_READ(kn, id) : 0;
}

/*
 * Fills the namespace block of a record about task (the fixed facts; the
 * cgroup and root strings are written apart, see ns_paths and ns_cgroup).
 */
static __always_inline void ns_fill(struct ksm_task_ns *ns, struct task_struct *task)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);

	ns->flags = 0;
	ns->root_dev = 0;
	ns->cgroup.offset = ns->cgroup.length = 0;
	ns->root.offset = ns->root.length = 0;
	ns->cgroup_id = task_cgroup_id(task);
	ns->mnt_ns = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	ns->net_ns = BPF_CORE_READ(nsp, net_ns, ns.inum);
	ns->uts_ns = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	ns->ipc_ns = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	ns->cgroup_ns = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	ns->user_ns = BPF_CORE_READ(task, real_cred, user_ns, ns.inum);
	ns->pid_ns = 0;
	ns_pids(ns, task);
	ns_ids(ns, task);
}

/*
 * The cgroup path of task (at most KSM_NS_PATH_MAX - 1 bytes, its end
 * when cut) written at dst, which is rec_off bytes from the record's
 * start, as ns->cgroup; returns its length.
 */
static __always_inline __u32 ns_cgroup(struct ksm_task_ns *ns, char *dst, __u32 rec_off,
				       struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);

	if (!kn)
		return 0;
	__u64 r = cgroup_walk((__u64)kn);
	__u32 len = ns_path_copy(r, dst, &ns->flags, KSM_NS_CGROUP_TRUNCATED, 0);
	ns->cgroup.offset = rec_off;
	ns->cgroup.length = len;
	return len;
}

/*
 * The cgroup and root strings of a process_exec at data[off] (the string
 * offsets count from the record's start, rec_size before data); returns
 * the offset after them.  In the monitor's mount namespace the root is its
 * path, only when it is not the mount tree's top (a chroot); in another
 * (a container's pivot_root, whose top means nothing to the host), or on
 * a tree in no namespace (a chroot into a lazily unmounted directory,
 * whose walk ends at that tree's top), it is told by its filesystem and
 * its path there, for the client to find.
 */
static __always_inline __u32 ns_paths(struct ksm_task_ns *ns, char *data, __u32 off,
				      __u32 rec_size, struct task_struct *task)
{
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	bool foreign = host_mnt_ns && ns->mnt_ns != host_mnt_ns;
	__u32 len;

	off &= KSM_NS_STRINGS_AT - 1;
	off += ns_cgroup(ns, &data[off], rec_size + off, task);
	struct dentry *root = BPF_CORE_READ(task, fs, root.dentry);
	__u64 r = path_walk((__u64)root_mnt, (__u64)root, WALK_TO_TOP);
	bool top = (__u32)r == KSM_PATH_MAX - 1 && !(r >> 32);
	if (foreign || ((r >> 32) & PATH_UNREACHABLE)) {
		/* whether it is the top as the walk says it (a pivot_root's new
		 * root lies on the namespace's hidden first mount), then its
		 * path in its filesystem */
		r = path_walk((__u64)root_mnt, (__u64)root, WALK_TO_FS);
		ns->flags |= KSM_NS_ROOT_FS | (top ? 0 : KSM_NS_ROOT_CHROOT);
		ns->root_dev = ksm_encode_dev(BPF_CORE_READ(root_mnt, mnt_sb, s_dev));
	} else if (top) {
		return off; /* "/" */
	}
	off &= (KSM_NS_STRINGS_AT << 1) - 1;
	len = ns_path_copy(r, &data[off], &ns->flags, KSM_NS_ROOT_TRUNCATED, KSM_NS_ROOT_DELETED);
	ns->root.offset = rec_size + off;
	ns->root.length = len;
	return off + len;
}

/*
 * Which layer of an overlay holds the executed file (its inode): the upper
 * one when the overlay inode has an upper dentry (a file created or
 * changed in the container).  Unknown where the kernel's types lack
 * overlayfs's inode.
 */
static __always_inline __u32 overlay_layer_flags(struct inode *inode)
{
	if (BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	if (!bpf_core_type_exists(struct ovl_inode___ksm) ||
	    !bpf_core_field_exists(((struct ovl_inode___ksm *)0)->__upperdentry))
		return KSM_EXEC_IMAGE_OVERLAY | KSM_EXEC_IMAGE_LAYER_UNKNOWN;
	struct ovl_inode___ksm *oi =
		(void *)inode - bpf_core_field_offset(struct ovl_inode___ksm, vfs_inode);
	if (BPF_CORE_READ(oi, __upperdentry))
		return KSM_EXEC_IMAGE_OVERLAY | KSM_EXEC_IMAGE_UPPER;
	return KSM_EXEC_IMAGE_OVERLAY;
}

#endif
