/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exec denial decided in the kernel (--deny-engine lsm): a BPF-LSM program
 * on bprm_check_security, the hook every exec passes for the file it runs
 * (for a #! script, once for the script and once for its interpreter)
 * before the old image is given up.  It matches the --deny globs against
 * the file's path as process_exec.image shows it, so that no exec ever
 * waits for a user-space process; the refusal is the caller's EPERM, as
 * with the fanotify engine.  A file reached only through a tree in no
 * mount namespace (PATH_UNREACHABLE: a lazily unmounted bind mount, an
 * open_tree() clone) has no path from any root: no glob matches it.
 * Loaded only where the kernel runs BPF LSM programs (bpf in
 * /sys/kernel/security/lsm).
 */
#ifndef KSM_DENY_BPF_H
#define KSM_DENY_BPF_H

#include "ksysmon_bpf.h"
#include "ksysmon_glob.h"
#include "maps.bpf.h"
#include "path.bpf.h"

#define KSM_EPERM 1
#define KSM_SIGKILL 9

const volatile __u32 deny_glob_count = 0;
const volatile bool deny_audit = false;
const volatile bool deny_fail_closed = false;
/* exec_blocked.rule when no rule could decide (fail-closed) */
const volatile char deny_undecided[] = "undecided";
/* exec_blocked.rule of an exec the fanotify engine could not see */
const volatile char deny_unwatched[] = "unwatched filesystem";
#define RULE_UNDECIDED (-1)
#define RULE_UNWATCHED (-2)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of --deny rules by the loader */
	__type(key, __u32);
	__type(value, struct ksm_glob);
} deny_globs SEC(".maps");

struct deny_scratch {
	/* The match's state lives in map memory, not on the stack: loaded
	 * each step as unknown values, the verifier's walk of the bpf_loop
	 * callback converges instead of following one exact position after
	 * another. */
	struct ksm_glob_state st;
	struct ksm_exec_blocked rec;
	char strings[KSM_PATH_MAX + KSM_GLOB_TEXT_MAX + KSM_NS_PATH_MAX]; /* path, rule, cgroup */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct deny_scratch);
} deny_scratch SEC(".maps");

struct glob_run {
	const struct ksm_glob *g;
	struct deny_scratch *s;
};

static long glob_step_cb(__u32 i, struct glob_run *r)
{
	ksm_glob_step(r->g, r->s->strings, &r->s->st);
	return r->s->st.result ? 1 : 0;
}

struct rules_run {
	struct deny_scratch *s;
	__u32 len;
	__s32 matched;   /* index of the first matching rule, or -1 */
	bool undecided;  /* a rule could not be decided */
};

static long rule_cb(__u32 i, struct rules_run *r)
{
	struct ksm_glob *g = bpf_map_lookup_elem(&deny_globs, &i);
	struct deny_scratch *s = r->s;
	if (!g)
		return 1;
	__builtin_memset(&s->st, 0, sizeof(s->st));
	s->st.slen = r->len;
	struct glob_run run = { .g = g, .s = s };
	bpf_loop(KSM_GLOB_MAX_STEPS, glob_step_cb, &run, 0);
	if (s->st.result > 0) {
		r->matched = i;
		return 1;
	}
	if (!s->st.result)
		r->undecided = true;
	return 0;
}

/* The exec_blocked record: the path (and its PATH_* flags), then the
 * rule's text (a --deny rule by index, or RULE_UNDECIDED, RULE_UNWATCHED),
 * then the cgroup's path, read now: a container whose first exec is
 * refused may be gone, cgroup and all, before the client looks. */
static __always_inline void report_blocked(struct deny_scratch *s, __u32 len, __s32 rule,
					   __u32 path_flags)
{
	__u32 rlen;
	char *rule_text = &s->strings[len & KSM_POS_MASK];

	if (rule >= 0) {
		__u32 key = rule;
		struct ksm_glob *g = bpf_map_lookup_elem(&deny_globs, &key);
		if (!g)
			return;
		rlen = g->text_len & (KSM_GLOB_TEXT_MAX - 1);
		bpf_probe_read_kernel(rule_text, rlen, g->text);
	} else if (rule == RULE_UNWATCHED) {
		rlen = sizeof(deny_unwatched) - 1;
		bpf_probe_read_kernel(rule_text, rlen, (const void *)deny_unwatched);
	} else {
		rlen = sizeof(deny_undecided) - 1;
		bpf_probe_read_kernel(rule_text, rlen, (const void *)deny_undecided);
	}
	s->rec.pid = bpf_get_current_pid_tgid() >> 32;
	s->rec.flags = deny_audit ? KSM_BLOCKED_AUDIT : 0;
	if (path_flags & PATH_UNLINKED)
		s->rec.flags |= KSM_BLOCKED_PATH_DELETED;
	if (path_flags & PATH_TRUNCATED)
		s->rec.flags |= KSM_BLOCKED_PATH_TRUNCATED;
	if (path_flags & PATH_UNREACHABLE)
		s->rec.flags |= KSM_BLOCKED_PATH_UNREACHABLE;
	__builtin_memset(s->rec.sha256, 0, sizeof(s->rec.sha256));
	s->rec.path.offset = sizeof(s->rec);
	s->rec.path.length = len;
	s->rec.rule.offset = sizeof(s->rec) + (len & KSM_POS_MASK);
	s->rec.rule.length = rlen;
	__u32 at = (len & KSM_POS_MASK) + (rlen & (KSM_GLOB_TEXT_MAX - 1));
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	ns_fill(&s->rec.ns, task);
	__u32 clen = ns_cgroup(&s->rec.ns, &s->strings[at], sizeof(s->rec) + at, task);
	__u32 size = sizeof(s->rec) + at + (clen & KSM_NS_POS_MASK);
	fill_header(&s->rec.hdr, KSM_EV_EXEC_BLOCKED, size);
	s->rec.hdr.flags |= KSM_HF_TASK_NS;
	if (bpf_ringbuf_output(&events, &s->rec, size, BPF_RB_FORCE_WAKEUP))
		count_lost(KSM_EV_EXEC_BLOCKED);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(deny_exec, struct linux_binprm *bprm, int ret)
{
	__u32 zero = 0, flags;

	if (ret)
		return ret; /* already refused */
	struct deny_scratch *s = bpf_map_lookup_elem(&deny_scratch, &zero);
	if (!s)
		return deny_fail_closed && !deny_audit ? -KSM_EPERM : 0;
	struct file *file = BPF_CORE_READ(bprm, file);
	__u32 len = path_resolve(BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry),
				 s->strings, &flags);
	struct rules_run r = { .s = s, .len = len, .matched = -1 };
	if (flags & PATH_TRUNCATED)
		r.undecided = true; /* no rule sees a cut path */
	else if (!(flags & PATH_UNREACHABLE)) /* a file no root leads to has no path to match */
		bpf_loop(deny_glob_count, rule_cb, &r, 0);
	if (r.matched < 0 && !(r.undecided && deny_fail_closed))
		return 0;
	report_blocked(s, len, r.matched >= 0 ? r.matched : RULE_UNDECIDED, flags);
	return deny_audit ? 0 : -KSM_EPERM;
}

/*
 * --deny-unverifiable with the fanotify engine: the superblocks (s_dev)
 * whose execs the engine sees, as the client marked them.  An exec from
 * any other (a filesystem mounted in another mount namespace, a memfd,
 * FUSE) was decided by nobody: it is killed here, at sched_process_exec,
 * past the point of no return but before its first instruction.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_WATCHED_SB_MAX);
	__type(key, __u32);
	__type(value, __u8);
} watched_sb SEC(".maps");

/* set by the client once the table holds the first marks */
bool unwatched_armed = false;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kill_unwatched, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0, flags;

	if (!unwatched_armed)
		return 0;
	struct file *file = BPF_CORE_READ(bprm, file);
	__u32 dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	if (bpf_map_lookup_elem(&watched_sb, &dev))
		return 0;
	struct deny_scratch *s = bpf_map_lookup_elem(&deny_scratch, &zero);
	if (s) {
		__u32 len = path_resolve(BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry),
					 s->strings, &flags);
		report_blocked(s, len, RULE_UNWATCHED, flags);
	}
	if (!deny_audit)
		bpf_send_signal(KSM_SIGKILL);
	return 0;
}

#endif
