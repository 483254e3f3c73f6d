/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Selections decided in the kernel on a process's namespace facts:
 * --container (the task's cgroup or one of its ancestors is a selected
 * container's) and the configuration's rules on pid_ns.  Like the other
 * kernel exclusions (filter.bpf.h), an event dropped here is counted in
 * kfiltered and never takes queue space; the client applies the same
 * selection again, so the kernel only ever drops what the client would.
 */
#ifndef KSM_SCOPE_BPF_H
#define KSM_SCOPE_BPF_H

#include "filter.bpf.h"
#include "ns.bpf.h"

/* --container names containers only (no all, no host): set before load */
const volatile bool filter_cgroups = false;
/* sel_cgroups is filled: until then every event passes */
volatile bool cgroups_armed = false;
/* a cgroup made since start could not be noted: every event passes */
volatile bool new_cgroups_full = false;

/*
 * Whether events of a task in cgroup kn may be of a selected container:
 * its cgroup was made since start (the client reads its path), or it or
 * an ancestor is in sel_cgroups, or it is deeper than the client looked
 * at start.  The root and the cgroups below it up to that depth that
 * existed at start and are not under a selected container's are not.
 * A global function: checked once.
 */
__noinline __u32 cgroup_may_be_selected(__u64 kn_addr)
{
	struct kernfs_node *kn = (struct kernfs_node *)kn_addr;
	__u64 id;

	if (!kn || !cgroups_armed || new_cgroups_full)
		return 1;
	/* a cgroup made since start has only descendants made since */
	id = BPF_CORE_READ(kn, id);
	if (bpf_map_lookup_elem(&new_cgroups, &id))
		return 1;
	for (int i = 0; i < KSM_SEL_CGROUP_DEPTH; i++) {
		struct kernfs_node *parent = kn_parent(kn);
		if (!parent)
			return 0; /* the root: in no container */
		id = BPF_CORE_READ(kn, id);
		if (bpf_map_lookup_elem(&sel_cgroups, &id))
			return 1;
		kn = parent;
	}
	return 1;
}

/* --container: whether the event of type of task (whose cgroup is
 * task's own, not necessarily the current task's) is dropped. */
static __always_inline bool excluded_container(__u32 type, struct task_struct *task)
{
	if (!filter_cgroups)
		return false;
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	return !cgroup_may_be_selected((__u64)kn) && count_filtered(type);
}

/* The pid namespace of task's process as its records give it (pid_ns). */
static __always_inline __u32 pid_ns_of(struct task_struct *task)
{
	struct pid *pid = process_pid(task);
	struct upid u = {};

	if (!pid_at(pid, BPF_CORE_READ(pid, level), &u))
		return 0;
	return BPF_CORE_READ(u.ns, ns.inum);
}

/* The rules on pid_ns: an exclusion of the task's namespace, or include
 * rules for the type that are all on pid_ns and name another one. */
static __always_inline bool excluded_pidns(__u32 type, struct task_struct *task)
{
	__u32 gen = current_gen();
	bool incl = incl_pidns_types[gen] & (1u << type);

	if (!excl_ids[gen] && !incl)
		return false;
	__u32 ns = pid_ns_of(task);
	if (excl_ids[gen] && in_types(bpf_map_lookup_elem(&excl_pidns, &ns), gen, type))
		return count_filtered(type);
	if (incl && !in_types(bpf_map_lookup_elem(&incl_pidns, &ns), gen, type))
		return count_filtered(type);
	return false;
}

/* The namespace selections together. */
static __always_inline bool excluded_scope(__u32 type, struct task_struct *task)
{
	return excluded_container(type, task) || excluded_pidns(type, task);
}

/* Notes a cgroup of the unified hierarchy made since start, and forgets
 * one removed (ids are never reused: a stale note costs only room). */
static __always_inline void note_cgroup(struct cgroup *cgrp, bool made)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(cgrp, root) != BPF_CORE_READ(t, cgroups, dfl_cgrp, root))
		return; /* a cgroup v1 hierarchy */
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	__u8 one = 1;
	if (!made)
		bpf_map_delete_elem(&new_cgroups, &id);
	else if (bpf_map_update_elem(&new_cgroups, &id, &one, BPF_ANY))
		new_cgroups_full = true;
}

/* Fires before the new cgroup is activated: no task can be in it yet. */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(note_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	note_cgroup(cgrp, true);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(note_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	note_cgroup(cgrp, false);
	return 0;
}

#endif
