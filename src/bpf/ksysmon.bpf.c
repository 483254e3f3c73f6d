// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ksysmon sensor: process, exec, exit and thread events from scheduler
 * tracepoints (tp_btf), the Linux counterparts of Windows'
 * PsSetCreateProcessNotifyRoutineEx / PsSetCreateThreadNotifyRoutine.
 */
#include "ksysmon_bpf.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "file.bpf.h"
#include "filter.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */

/* the exec strings come before the arguments: the paths, then the cgroup
 * and root (from KSM_NS_STRINGS_AT); powers of two for masks */
#define KSM_NS_STRINGS_AT (KSM_EXEC_STRINGS * KSM_PATH_MAX)
#define KSM_STRINGS_MAX (8 * KSM_PATH_MAX)
_Static_assert(KSM_NS_STRINGS_AT == 4 * KSM_PATH_MAX, "exec strings");
_Static_assert(KSM_NS_STRINGS_AT + 2 * KSM_NS_PATH_MAX <= KSM_STRINGS_MAX, "namespace strings");

#include "ns.bpf.h"
#include "scope.bpf.h"

/* Hot paths (fork, exit) read task fields directly: tp_btf arguments are
 * trusted BTF pointers, and a direct load costs less than a helper call. */

/* An exec record is built in place before it is copied to the queue: too
 * large for the stack or a per-CPU slot, so one array entry per CPU. */
struct exec_buf {
	struct ksm_process_exec rec;
	char data[KSM_STRINGS_MAX + KSM_ARGS_CAP];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of CPUs by the loader */
	__type(key, __u32);
	__type(value, struct exec_buf);
} exec_bufs SEC(".maps");

/* thread_create or thread_exit of task, if wanted, with the thread's own
 * cgroup id (the client finds its path and container from the id) */
static __always_inline void thread_event(__u32 type, struct task_struct *task)
{
	__u32 pid = task->tgid;

	if (!type_enabled(type) || excluded_pid(type, pid) || excluded_container(type, task))
		return;
	struct ksm_thread_cgroup *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(type);
		return;
	}
	fill_header(&e->base.hdr, type, sizeof(*e));
	e->base.hdr.flags |= KSM_HF_CGROUP;
	e->base.pid = pid;
	e->base.tid = task->pid;
	e->base.start_time = process_start(task);
	e->cgroup.id = task_cgroup_id(task);
	e->cgroup.path.offset = e->cgroup.path.length = 0;
	bpf_ringbuf_submit(e, wakeup_flag());
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid = child->tgid;
	__u32 tid = child->pid;
	__u32 type = KSM_EV_PROCESS_CREATE;

	if (pid != tid) {
		if (pid_selected(pid))
			thread_event(KSM_EV_THREAD_CREATE, child);
		return 0;
	}

	/* real_parent, not the forking task: CLONE_PARENT makes them differ;
	 * --pid follows what a selected process creates, whoever the parent */
	__u32 ppid = child->real_parent->tgid;
	__u32 creator = parent->tgid;
	if (!pid_selected(pid) && !pid_selected(ppid) && !pid_selected(creator))
		return 0;
	follow_pid(pid, true); /* whether or not its creation is reported */
	if (!type_enabled(type) || excluded_pid(type, pid) || excluded_comm(type, child) ||
	    excluded_scope(type, child))
		return 0;
	struct ksm_process_create *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(type);
		return 0;
	}
	fill_header(&e->hdr, type, sizeof(*e));
	e->pid = pid;
	e->ppid = ppid;
	e->parent_tid = parent->pid;
	e->creator_pid = creator;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	e->image.offset = e->image.length = 0;
	e->cmdline.offset = e->cmdline.length = 0;
	e->start_time = process_start(child);
	e->parent_start_time = process_start(child->real_parent);
	e->creator_start_time = process_start(parent);
	ns_fill(&e->ns, child);
	e->hdr.flags |= KSM_HF_TASK_NS | KSM_HF_CREATOR_START;
	bpf_ringbuf_submit(e, wakeup_flag());
	return 0;
}

/* Appends the argument area of the new image (NUL-separated, exactly as
 * the kernel copied it) at data[off]; returns its length. */
static __always_inline __u32 read_argv(struct exec_buf *b, __u32 off, struct task_struct *task)
{
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	unsigned long total = end > start ? end - start : 0;
	__u32 len = total > max_args_bytes ? max_args_bytes : total;

	if (total > len)
		b->rec.flags |= KSM_EXEC_ARGV_TRUNCATED;
	len &= KSM_ARGS_CAP - 1;
	off &= KSM_STRINGS_MAX - 1;
	if (bpf_probe_read_user(&b->data[off], len, (void *)start)) {
		b->rec.flags |= KSM_EXEC_ARGV_UNREADABLE;
		return 0;
	}
	return len;
}

/* The record's flags that say a path field's state (enum ksm_exec_flags) */
struct ksm_field_flags {
	__u32 cut, deleted, unreachable;
};

/* Walks the path of (mnt, dentry) to data[off] as the string *str, with
 * its state in the record's flags; returns the offset after it. */
static __always_inline __u32 put_path(struct exec_buf *b, __u32 off, struct vfsmount *mnt,
				      struct dentry *dentry, struct ksm_str *str,
				      struct ksm_field_flags f)
{
	__u32 pflags;
	__u32 len = path_resolve(mnt, dentry, &b->data[off], &pflags);

	if (pflags & PATH_TRUNCATED)
		b->rec.flags |= f.cut;
	if (pflags & PATH_UNLINKED)
		b->rec.flags |= f.deleted;
	if (pflags & PATH_UNREACHABLE)
		b->rec.flags |= f.unreachable;
	str->offset = sizeof(b->rec) + off;
	str->length = len;
	return off + (len & KSM_POS_MASK);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(task, tgid);
	__u32 cpu = bpf_get_smp_processor_id();
	struct exec_buf *b;
	__u32 off = 0, len;

	if (!type_enabled(KSM_EV_PROCESS_EXEC) || !pid_selected(pid))
		return 0;
	__u64 uid_gid = bpf_get_current_uid_gid();
	if (excluded_pid(KSM_EV_PROCESS_EXEC, pid) || excluded_comm(KSM_EV_PROCESS_EXEC, task) ||
	    excluded_uid(KSM_EV_PROCESS_EXEC, (__u32)uid_gid) ||
	    excluded_scope(KSM_EV_PROCESS_EXEC, task))
		return 0;
	b = bpf_map_lookup_elem(&exec_bufs, &cpu);
	if (!b)
		return 0;

	b->rec.pid = pid;
	b->rec.tid = old_pid;
	b->rec.uid = (__u32)uid_gid;
	b->rec.gid = uid_gid >> 32;
	b->rec.flags = 0;
	b->rec.reserved = 0;
	BPF_CORE_READ_STR_INTO(&b->rec.comm, task, comm);

	/* image: the file the kernel executed (for a script, its interpreter,
	 * as /proc/PID/exe shows) */
	struct file *file = BPF_CORE_READ(bprm, file);
	off = put_path(b, 0, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry),
		       &b->rec.image,
		       (struct ksm_field_flags){ KSM_EXEC_IMAGE_TRUNCATED, KSM_EXEC_IMAGE_DELETED,
					    KSM_EXEC_IMAGE_UNREACHABLE });
	/* a prefix names paths from a root: an unreachable one is none of them */
	if (!(b->rec.flags & KSM_EXEC_IMAGE_UNREACHABLE) &&
	    excluded_prefix(KSM_EV_PROCESS_EXEC, b->data, off))
		return 0;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	file_id_fill(&b->rec.image_id, inode, inode);
	b->rec.flags |= overlay_layer_flags(inode);

	/* filename: the name exec was given */
	long n = bpf_probe_read_kernel_str(&b->data[off], KSM_PATH_MAX,
					   BPF_CORE_READ(bprm, filename));
	len = n > 0 ? n - 1 : 0; /* without the NUL */
	b->rec.filename.offset = sizeof(b->rec) + off;
	b->rec.filename.length = len;
	off += len & KSM_POS_MASK;

	/* cwd */
	off = put_path(b, off & (2 * KSM_PATH_MAX - 1), BPF_CORE_READ(task, fs, pwd.mnt),
		       BPF_CORE_READ(task, fs, pwd.dentry), &b->rec.cwd,
		       (struct ksm_field_flags){ KSM_EXEC_CWD_TRUNCATED, KSM_EXEC_CWD_DELETED,
					    KSM_EXEC_CWD_UNREACHABLE });

	/* the parent's program now, walked here: by the time the client
	 * handles the event the parent may have ended or executed again */
	struct task_struct *parent = task->real_parent;
	struct file *pexe = BPF_CORE_READ(parent, mm, exe_file);
	b->rec.parent_image.offset = b->rec.parent_image.length = 0;
	if (pexe)
		off = put_path(b, off & (KSM_STRINGS_MAX - 1), BPF_CORE_READ(pexe, f_path.mnt),
			       BPF_CORE_READ(pexe, f_path.dentry), &b->rec.parent_image,
			       (struct ksm_field_flags){ KSM_EXEC_PARENT_IMAGE_TRUNCATED,
						    KSM_EXEC_PARENT_IMAGE_DELETED,
						    KSM_EXEC_PARENT_IMAGE_UNREACHABLE });

	ns_fill(&b->rec.ns, task);
	off = ns_paths(&b->rec.ns, b->data, off, sizeof(b->rec), task);

	b->rec.euid = BPF_CORE_READ(task, cred, euid.val);
	b->rec.ppid = BPF_CORE_READ(parent, tgid);
	b->rec.start_time = process_start(task);
	b->rec.parent_start_time = process_start(parent);

	len = read_argv(b, off, task);
	b->rec.argv.offset = sizeof(b->rec) + off;
	b->rec.argv.length = len;

	__u32 size = sizeof(b->rec) + (off & (KSM_STRINGS_MAX - 1)) + (len & (KSM_ARGS_CAP - 1));
	fill_header(&b->rec.hdr, KSM_EV_PROCESS_EXEC, size);
	b->rec.hdr.flags |= KSM_HF_TASK_NS;
	if (size > sizeof(*b))
		return 0;
	if (bpf_ringbuf_output(&events, b, size, wakeup_flag()))
		count_lost(KSM_EV_PROCESS_EXEC);
	return 0;
}

/* wait(2) status of a process whose last thread is exiting, as
 * wait_task_zombie() computes it. */
static __always_inline __u32 exit_status(struct task_struct *task)
{
	struct signal_struct *sig = task->signal;
	if (sig->flags & SIGNAL_GROUP_EXIT)
		return sig->group_exit_code;
	return task->group_leader->exit_code;
}

/* signal_struct before 5.17 */
struct signal_struct___pre517 {
	struct task_struct *group_exit_task;
} __attribute__((preserve_access_index));

/* Whether the initial thread ends on its own (SYS_exit, pthread_exit from
 * main) while other threads live on: not in a group exit (exit_group, a
 * fatal signal), nor killed by another thread's exec (de_thread). */
static __always_inline bool leader_ends_alone(struct task_struct *task)
{
	struct signal_struct *sig = task->signal;
	struct task_struct *exec_task;

	if (sig->flags & SIGNAL_GROUP_EXIT)
		return false;
	if (bpf_core_field_exists(sig->group_exec_task)) {
		exec_task = BPF_CORE_READ(sig, group_exec_task);
	} else {
		struct signal_struct___pre517 *old = (void *)sig;
		exec_task = BPF_CORE_READ(old, group_exit_task);
	}
	return !exec_task;
}

/*
 * Before 6.16 the exit tracepoint does not say whether the thread was its
 * group's last.  do_exit() decides it (the decrement of signal->live that
 * reaches 0) and hands it to taskstats_exit() before the tracepoint: where
 * fentry attaches there, the answer is kept per thread until its exit
 * tracepoint.  Reading signal->live at the tracepoint instead is wrong
 * when another thread's decrement came in between (a joined thread whose
 * joiner exits at once), so it is only the last resort.
 */
struct group_dead_note {
	__u64 start_time; /* the thread's: the note is for this thread only */
	__u8 dead;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct group_dead_note);
} group_dead_notes SEC(".maps");

SEC("fentry/taskstats_exit")
int BPF_PROG(note_group_dead, struct task_struct *tsk, int group_dead)
{
	__u32 tid = BPF_CORE_READ(tsk, pid);
	struct group_dead_note n = { .start_time = BPF_CORE_READ(tsk, start_boottime),
				     .dead = group_dead != 0 };
	bpf_map_update_elem(&group_dead_notes, &tid, &n, BPF_ANY);
	return 0;
}

static __always_inline bool thread_was_last(struct task_struct *task, __u64 *ctx)
{
	if (exit_has_group_dead)
		return (bool)ctx[1];
	if (group_dead_noted) {
		__u32 tid = task->pid;
		struct group_dead_note *n = bpf_map_lookup_elem(&group_dead_notes, &tid);
		if (n && n->start_time == task->start_boottime) {
			bool dead = n->dead;
			bpf_map_delete_elem(&group_dead_notes, &tid);
			return dead;
		}
	}
	return task->signal->live.counter == 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	__u32 pid = task->tgid;
	__u32 tid = task->pid;
	bool group_dead = thread_was_last(task, ctx);

	if (!pid_selected(pid))
		return 0;
	/* Every thread created with thread_create ends with thread_exit, the
	 * last one too (before process_exit).  The initial thread is the
	 * process: its end is a thread_exit only when it ends alone while
	 * others live on; otherwise process_exit stands for it. */
	if (pid != tid || (!group_dead && leader_ends_alone(task)))
		thread_event(KSM_EV_THREAD_EXIT, task);
	if (!group_dead)
		return 0;

	follow_pid(pid, false); /* its pid may come back as another process */
	if (!type_enabled(KSM_EV_PROCESS_EXIT) || excluded_pid(KSM_EV_PROCESS_EXIT, pid) ||
	    excluded_comm(KSM_EV_PROCESS_EXIT, task) || excluded_scope(KSM_EV_PROCESS_EXIT, task))
		return 0;
	struct ksm_process_exit *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(KSM_EV_PROCESS_EXIT);
		return 0;
	}
	fill_header(&e->hdr, KSM_EV_PROCESS_EXIT, sizeof(*e));
	e->pid = pid;
	e->tid = tid;
	e->status = exit_status(task);
	e->reserved = 0;
	e->start_time = process_start(task);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	ns_fill(&e->ns, task);
	e->hdr.flags |= KSM_HF_TASK_NS;
	bpf_ringbuf_submit(e, wakeup_flag());
	return 0;
}

/* Last: programs attach in the order they are defined, and on a shared
 * tracepoint run in that order, so that a program's process_exec comes
 * before its image_load events. */
#include "image.bpf.h"
#include "deny.bpf.h"
