// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ksysmon sensor: process, exec, exit and thread events from scheduler
 * tracepoints (tp_btf), the Linux counterparts of the seed's
 * PsSetCreateProcessNotifyRoutineEx / PsSetCreateThreadNotifyRoutine.
 */
#include "ksysmon_bpf.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "filter.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */

/* the exec strings come before the arguments; a power of two for masks */
#define KSM_STRINGS_MAX (4 * KSM_PATH_MAX)
_Static_assert(KSM_EXEC_STRINGS * KSM_PATH_MAX <= KSM_STRINGS_MAX, "exec strings");

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

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid = child->tgid;
	__u32 tid = child->pid;
	bool is_thread = pid != tid;
	__u32 type = is_thread ? KSM_EV_THREAD_CREATE : KSM_EV_PROCESS_CREATE;

	if (is_thread) {
		if (!type_enabled(type) || !pid_selected(pid) || excluded_pid(type, pid))
			return 0;
		struct ksm_thread *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			count_lost(type);
			return 0;
		}
		fill_header(&e->hdr, type, sizeof(*e));
		e->pid = pid;
		e->tid = tid;
		e->start_time = process_start(child);
		bpf_ringbuf_submit(e, wakeup_flag());
		return 0;
	}

	/* real_parent, not the forking task: CLONE_PARENT makes them differ */
	__u32 ppid = child->real_parent->tgid;
	if (!pid_selected(pid) && !pid_selected(ppid))
		return 0;
	follow_pid(pid, true); /* whether or not its creation is reported */
	if (!type_enabled(type) || excluded_pid(type, pid) || excluded_comm(type, child))
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
	e->reserved = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	e->image.offset = e->image.length = 0;
	e->cmdline.offset = e->cmdline.length = 0;
	e->start_time = process_start(child);
	e->parent_start_time = process_start(child->real_parent);
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

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(task, tgid);
	__u32 cpu = bpf_get_smp_processor_id();
	struct exec_buf *b;
	__u32 off = 0, len, pflags;

	if (!type_enabled(KSM_EV_PROCESS_EXEC) || !pid_selected(pid))
		return 0;
	__u64 uid_gid = bpf_get_current_uid_gid();
	if (excluded_pid(KSM_EV_PROCESS_EXEC, pid) || excluded_comm(KSM_EV_PROCESS_EXEC, task) ||
	    excluded_uid(KSM_EV_PROCESS_EXEC, (__u32)uid_gid))
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
	len = path_resolve(BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry),
			   b->data, &pflags);
	if (pflags & PATH_TRUNCATED)
		b->rec.flags |= KSM_EXEC_IMAGE_TRUNCATED;
	if (pflags & PATH_UNLINKED)
		b->rec.flags |= KSM_EXEC_IMAGE_DELETED;
	if (excluded_prefix(KSM_EV_PROCESS_EXEC, b->data, len))
		return 0;
	b->rec.image.offset = sizeof(b->rec);
	b->rec.image.length = len;
	off = len & KSM_POS_MASK;

	/* filename: the name exec was given */
	long n = bpf_probe_read_kernel_str(&b->data[off], KSM_PATH_MAX,
					   BPF_CORE_READ(bprm, filename));
	len = n > 0 ? n - 1 : 0; /* without the NUL */
	b->rec.filename.offset = sizeof(b->rec) + off;
	b->rec.filename.length = len;
	off += len & KSM_POS_MASK;

	/* cwd */
	off &= 2 * KSM_PATH_MAX - 1;
	len = path_resolve(BPF_CORE_READ(task, fs, pwd.mnt), BPF_CORE_READ(task, fs, pwd.dentry),
			   &b->data[off], &pflags);
	b->rec.cwd.offset = sizeof(b->rec) + off;
	b->rec.cwd.length = len;
	off += len & KSM_POS_MASK;

	struct task_struct *parent = task->real_parent;
	b->rec.euid = BPF_CORE_READ(task, cred, euid.val);
	b->rec.ppid = BPF_CORE_READ(parent, tgid);
	b->rec.start_time = process_start(task);
	b->rec.parent_start_time = process_start(parent);

	len = read_argv(b, off, task);
	b->rec.argv.offset = sizeof(b->rec) + off;
	b->rec.argv.length = len;

	__u32 size = sizeof(b->rec) + (off & (KSM_STRINGS_MAX - 1)) + (len & (KSM_ARGS_CAP - 1));
	fill_header(&b->rec.hdr, KSM_EV_PROCESS_EXEC, size);
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

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	__u32 pid = task->tgid;
	__u32 tid = task->pid;
	bool group_dead;

	/* Since 6.16 the tracepoint says whether this was the group's last
	 * thread; before, signal->live (decremented just before) tells,
	 * racily when two threads exit at once. */
	if (exit_has_group_dead)
		group_dead = (bool)ctx[1];
	else
		group_dead = task->signal->live.counter == 0;

	if (!pid_selected(pid))
		return 0;
	if (!group_dead) {
		if (excluded_pid(KSM_EV_THREAD_EXIT, pid))
			return 0;
		/* the initial thread is the process: it has no thread events */
		if (pid == tid || !type_enabled(KSM_EV_THREAD_EXIT))
			return 0;
		struct ksm_thread *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			count_lost(KSM_EV_THREAD_EXIT);
			return 0;
		}
		fill_header(&e->hdr, KSM_EV_THREAD_EXIT, sizeof(*e));
		e->pid = pid;
		e->tid = tid;
		e->start_time = process_start(task);
		bpf_ringbuf_submit(e, wakeup_flag());
		return 0;
	}

	follow_pid(pid, false); /* its pid may come back as another process */
	if (!type_enabled(KSM_EV_PROCESS_EXIT) || excluded_pid(KSM_EV_PROCESS_EXIT, pid) ||
	    excluded_comm(KSM_EV_PROCESS_EXIT, task))
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
	bpf_ringbuf_submit(e, wakeup_flag());
	return 0;
}

/* Last: programs attach in the order they are defined, and on a shared
 * tracepoint run in that order, so that a program's process_exec comes
 * before its image_load events. */
#include "image.bpf.h"
#include "deny.bpf.h"
