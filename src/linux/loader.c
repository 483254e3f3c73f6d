// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "linux/loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ksysmon_limits.h"
#include "policy/globc.h"
#include "linux/kfilter.h"
#include "pipeline/select.h"
#include "ksysmon.skel.h"

/* The prototype of a tracepoint in the kernel's BTF, or NULL if the kernel
 * has no such tracepoint. */
static const struct btf_type *tracepoint_proto(const struct btf *btf, const char *name)
{
	char tname[128];
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	int id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return NULL;
	const struct btf_type *t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) ? t : NULL;
}

/* Whether a struct of the kernel's BTF has the member, also inside its
 * anonymous structs and unions (mm_struct wraps its fields in one). */
static bool type_has_member(const struct btf *btf, const struct btf_type *t, const char *member,
			    int depth)
{
	if (!t || !(btf_is_struct(t) || btf_is_union(t)) || depth > 4)
		return false;
	const struct btf_member *m = btf_members(t);
	for (unsigned short i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		if (name && !strcmp(name, member))
			return true;
		if ((!name || !name[0]) &&
		    type_has_member(btf, btf__type_by_id(btf, m->type), member, depth + 1))
			return true;
	}
	return false;
}

static bool struct_has_member(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	return id > 0 && type_has_member(btf, btf__type_by_id(btf, id), member, 0);
}

static bool has_helper(enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, id, NULL) == 1;
}

#if defined(__x86_64__)
#define KSM_SYS_PREFIX "__x64_sys_"
#elif defined(__aarch64__)
#define KSM_SYS_PREFIX "__arm64_sys_"
#endif

/*
 * Whether the kernel loads and attaches an fentry/fexit program that reads
 * the first argument of this function: some load them and refuse the
 * trampoline, some refuse both.  A program
 * of two instructions says so in a few milliseconds, where a refused load
 * of the whole sensor would take hundreds.
 */
static bool can_trampoline(const char *func, enum bpf_attach_type type)
{
	int btf_id = libbpf_find_vmlinux_btf_id(func, type);
	if (btf_id <= 0)
		return false;
	/* r0 = ctx[0] (the syscall's pt_regs: refused where the function's
	 * BTF has only a declaration of the struct, as in 5.10); return 0 */
	const struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type,
		    .attach_btf_id = (__u32)btf_id);
	int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ksm_probe", "GPL", insns,
				 sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog < 0)
		return false;
	int link = bpf_raw_tracepoint_open(NULL, prog);
	if (link >= 0)
		close(link);
	close(prog);
	return link >= 0;
}

/* Whether "bpf" is among the kernel's active LSMs: a kernel built with BPF
 * LSM loads and attaches its programs even when it does not run them. */
static bool bpf_lsm_active(void)
{
	static const char lsm_list[] = "/sys/kernel/security/lsm";
	char buf[512];

	if (access(lsm_list, F_OK))
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	FILE *f = fopen(lsm_list, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save))
		if (!strcmp(tok, "bpf"))
			return true;
	return false;
}

struct kernel_features {
	bool exit_has_group_dead; /* sched_process_exit(p, group_dead), 6.16+ */
	bool module_load;         /* the kernel has loadable modules */
	bool sys_exit;            /* the raw syscall-exit tracepoint (image loads) */
	bool find_vma;            /* bpf_find_vma() and bpf_loop(), 5.17+ */
	bool task_pt_regs;        /* bpf_task_pt_regs(), 5.15+ */
	bool vma_tree;            /* mm->mm_rb and vm_prev/vm_next, before 6.1 */
	bool syscall_fexit;       /* fexit attaches to the mmap and mprotect syscalls */
	bool bpf_lsm;             /* BPF LSM programs run (bpf is an active LSM) */
	bool taskstats_fentry;    /* fentry attaches to taskstats_exit(tsk, group_dead) */
};

static struct kernel_features probe_kernel(void)
{
	struct kernel_features f = { 0 };
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return f;
	const struct btf_type *exit_tp = tracepoint_proto(btf, "sched_process_exit");
	/* (void *__data, struct task_struct *p, bool group_dead) */
	f.exit_has_group_dead = exit_tp && btf_vlen(exit_tp) >= 3;
	f.module_load = tracepoint_proto(btf, "module_load") != NULL;
	f.sys_exit = tracepoint_proto(btf, "sys_exit") != NULL;
	f.vma_tree = struct_has_member(btf, "mm_struct", "mm_rb") &&
		     struct_has_member(btf, "vm_area_struct", "vm_prev");
	btf__free(btf);
	f.syscall_fexit = can_trampoline(KSM_SYS_PREFIX "mmap", BPF_TRACE_FEXIT) &&
			  can_trampoline(KSM_SYS_PREFIX "mprotect", BPF_TRACE_FEXIT);
	f.taskstats_fentry = !f.exit_has_group_dead && can_trampoline("taskstats_exit", BPF_TRACE_FENTRY);
	f.bpf_lsm = bpf_lsm_active();
	f.find_vma = has_helper(BPF_FUNC_find_vma) && has_helper(BPF_FUNC_loop);
	f.task_pt_regs = has_helper(BPF_FUNC_task_pt_regs);
	return f;
}

/* Syscall tracepoints are found through tracefs: mount it if it is not. */
static const char *ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events/syscalls", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events/syscalls", F_OK))
		return NULL;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
		return "tracefs is not mounted and cannot be mounted at /sys/kernel/tracing";
	if (access("/sys/kernel/tracing/events/syscalls", F_OK))
		return "the kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS)";
	return NULL;
}

/*
 * Optional features: each is one of several program sets (variants), in
 * order of preference.  A variant the kernel lacks something for is passed
 * over before loading; one the kernel refuses is dropped after, and the
 * next one tried.  A feature left without a variant is off, and the user
 * is told so in one line.  Only the process events (fork, exec, exit) are
 * never dropped.
 */
#define MAX_VARIANT_PROGS 3
#define MAX_VARIANTS 4

struct variant {
	const char *how;                            /* for the user */
	const char *progs[MAX_VARIANT_PROGS + 1];   /* NULL-terminated */
	const char *missing;                        /* why the kernel cannot, or NULL */
	char refused[384];                          /* why the kernel refused it */
};

struct feature {
	const char *what;
	const char *when_off; /* what happens without it: "are not reported" */
	struct variant v[MAX_VARIANTS];
	int n;
	int chosen;          /* index into v, or n when off */
};

static const char *why_not(const struct variant *v)
{
	return v->missing ? v->missing : v->refused[0] ? v->refused : "unknown";
}

enum { FEAT_IMAGES, FEAT_MODULES, FEAT_DENY, FEAT_GROUP_DEAD, FEAT_MAX };

static bool wants(const struct ksm_options *o, enum ksm_event_type t)
{
	return o->event_mask & (1u << t);
}

/* The exit program is loaded: for exit events, or to follow --pid. */
static bool exits_wanted(const struct ksm_options *o)
{
	return o->n_pids > 0 || wants(o, KSM_EV_PROCESS_EXIT) || wants(o, KSM_EV_THREAD_EXIT);
}

static void add_variant(struct feature *f, const char *how, const char *missing,
			const char *p0, const char *p1, const char *p2)
{
	if (f->n >= MAX_VARIANTS)
		return;
	f->v[f->n++] = (struct variant){ .how = how, .progs = { p0, p1, p2, NULL }, .missing = missing,
					 .refused = "" };
}

static void plan_features(struct feature *feats, const struct ksm_options *o,
			  const struct kernel_features *kf)
{
	struct feature *img = &feats[FEAT_IMAGES], *mod = &feats[FEAT_MODULES];
	struct feature *deny = &feats[FEAT_DENY];

	memset(feats, 0, FEAT_MAX * sizeof(*feats));
	img->what = "image loads";
	img->when_off = "are not reported";
	mod->what = "kernel module loads";
	mod->when_off = "are not reported";
	struct feature *last = &feats[FEAT_GROUP_DEAD];
	last->what = "a process's last thread";
	last->when_off = "is told by signal->live, which two threads exiting at once can mislead,";
	if (exits_wanted(o) && !kf->exit_has_group_dead)
		add_variant(last, "fentry on taskstats_exit",
			    kf->taskstats_fentry ? NULL : "the kernel refuses fentry on taskstats_exit",
			    "note_group_dead", NULL, NULL);
	deny->what = "--deny rules";
	deny->when_off = "are decided by this process (fanotify)";
	if (o->n_deny_globs && o->deny_engine != KSM_DENY_ENGINE_FANOTIFY)
		add_variant(deny, "BPF-LSM at bprm_check_security",
			    kf->bpf_lsm ? NULL : "the kernel does not run BPF LSM programs (no bpf in /sys/kernel/security/lsm)",
			    "deny_exec", NULL, NULL);
	if (wants(o, KSM_EV_IMAGE_LOAD)) {
		if (o->image_hook == KSM_IMAGE_HOOK_PERF) {
			const char *missing = !kf->find_vma ? "it needs bpf_find_vma and bpf_loop (5.17+)" :
					      !kf->task_pt_regs ? "it needs bpf_task_pt_regs (5.15+)" :
								  ensure_tracefs();
			add_variant(img, "the perf syscall events", missing, "handle_mmap_exit",
				    "handle_mprotect_exit", "handle_exec_images");
		} else {
			bool fexit = o->image_hook != KSM_IMAGE_HOOK_RAW;
			bool raw = o->image_hook != KSM_IMAGE_HOOK_FEXIT;
			const char *no_fexit = kf->syscall_fexit ? NULL :
					       "the kernel refuses fexit programs reading the arguments of " KSM_SYS_PREFIX "mmap/mprotect";
			const char *no_exit = kf->sys_exit ? NULL :
					      "the kernel has no sys_exit tracepoint (CONFIG_FTRACE_SYSCALLS)";
			const char *no_find = "it needs bpf_find_vma and bpf_loop (5.17+)";
			const char *no_tree = "the kernel has no mapping tree (6.1+)";
			if (fexit) {
				add_variant(img, "fexit on mmap and mprotect",
					    no_fexit ? no_fexit : kf->find_vma ? NULL : no_find,
					    "handle_mmap_fexit", "handle_mprotect_fexit", "handle_exec_images");
				add_variant(img, "fexit on mmap and mprotect and the mapping tree",
					    no_fexit ? no_fexit : kf->vma_tree ? NULL : no_tree,
					    "handle_mmap_fexit_tree", "handle_mprotect_fexit_tree",
					    "handle_exec_images_tree");
			}
			if (raw) {
				add_variant(img, "the syscall-exit hook",
					    no_exit ? no_exit : kf->find_vma ? NULL : no_find,
					    "handle_syscall_exit", "handle_exec_images", NULL);
				add_variant(img, "the syscall-exit hook and the mapping tree",
					    no_exit ? no_exit : kf->vma_tree ? NULL : no_tree,
					    "handle_syscall_exit_tree", "handle_exec_images_tree", NULL);
			}
		}
		add_variant(mod, "the module_load tracepoint",
			    kf->module_load ? NULL : "the kernel has no loadable modules (no module_load tracepoint)",
			    "handle_module_load", NULL, NULL);
	}
	for (int i = 0; i < FEAT_MAX; i++) {
		struct feature *f = &feats[i];
		for (f->chosen = 0; f->chosen < f->n && f->v[f->chosen].missing; f->chosen++)
			;
	}
}

/* libbpf's messages while loading: kept, to name the program the kernel
 * refused and why, and passed on under KSYSMON_DEBUG. */
static struct {
	libbpf_print_fn_t next;
	char prog[64];      /* the first program libbpf says failed */
	char reason[256];   /* the most telling line about it */
	char last_log[256]; /* last line of the verifier log so far */
	bool in_log;
} load_log;

static void keep_line(char *dst, size_t size, const char *line)
{
	size_t n = strcspn(line, "\n");
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	snprintf(dst, size, "%.*s", (int)n, line);
}

static void note_line(const char *line)
{
	const char *p;
	if (strstr(line, "-- BEGIN PROG LOAD LOG --")) {
		load_log.in_log = true;
		return;
	}
	if (strstr(line, "-- END PROG LOAD LOG --")) {
		load_log.in_log = false;
		if (!load_log.reason[0])
			snprintf(load_log.reason, sizeof(load_log.reason), "%s", load_log.last_log);
		return;
	}
	if ((p = strstr(line, "failed to resolve CO-RE relocation"))) {
		keep_line(load_log.reason, sizeof(load_log.reason), p);
		return;
	}
	if (load_log.in_log) {
		/* the verifier ends with its statistics: the error is before */
		if (strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17) &&
		    strncmp(line, "stack depth", 11) && line[0] != '\n' && line[0])
			keep_line(load_log.last_log, sizeof(load_log.last_log), line);
		return;
	}
	if ((p = strstr(line, "prog '")) && strstr(line, "fail") && !load_log.prog[0]) {
		p += 6;
		size_t n = strcspn(p, "'");
		snprintf(load_log.prog, sizeof(load_log.prog), "%.*s", (int)n, p);
	}
	if (!load_log.reason[0] && (p = strstr(line, "BPF program load failed: ")))
		keep_line(load_log.reason, sizeof(load_log.reason), p);
}

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];
	va_list copy;
	va_copy(copy, args);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	note_line(line);
	return load_log.next ? load_log.next(level, fmt, args) : 0;
}

/* The inode of ksysmon's mount namespace; 0 when unknown (then every
 * root is walked as a path, as in the monitor's own namespace). */
static uint32_t own_mnt_ns(void)
{
	struct stat st;
	return stat("/proc/self/ns/mnt", &st) ? 0 : (uint32_t)st.st_ino;
}

static int configure(struct ksysmon_bpf *skel, const struct ksm_options *o, int ncpus,
		     const struct kernel_features *kf, const struct feature *feats)
{
	struct ksysmon_bpf__rodata *ro = skel->rodata;
	struct bpf_program *prog;

	ro->event_mask = o->event_mask;
	ro->filter_pids = o->n_pids > 0;
	ro->filter_cgroups = ksm_containers_by_id(o);
	ro->max_args_bytes = o->max_args_bytes;
	ro->wakeup_bytes = o->ringbuf_bytes / 4;
	ro->exit_has_group_dead = kf->exit_has_group_dead;
	ro->group_dead_noted = feats[FEAT_GROUP_DEAD].chosen < feats[FEAT_GROUP_DEAD].n;
	bool kernel_deny = feats[FEAT_DENY].chosen < feats[FEAT_DENY].n;
	ro->deny_glob_count = kernel_deny ? (uint32_t)o->n_deny_globs : 0;
	ro->deny_audit = o->deny_audit;
	ro->deny_fail_closed = o->deny_fail_closed;
	ro->host_mnt_ns = own_mnt_ns();
	if (bpf_map__set_max_entries(skel->maps.deny_globs, kernel_deny ? (uint32_t)o->n_deny_globs : 1))
		return -1;

	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	/* --pid follows the selected processes' children from fork to exit,
	 * whichever events are reported */
	bool following = o->n_pids > 0;
	bpf_program__set_autoload(skel->progs.handle_fork, following ||
				  wants(o, KSM_EV_PROCESS_CREATE) || wants(o, KSM_EV_THREAD_CREATE));
	bpf_program__set_autoload(skel->progs.handle_exec, wants(o, KSM_EV_PROCESS_EXEC));
	bpf_program__set_autoload(skel->progs.handle_exit, exits_wanted(o));
	/* --container: the cgroups made since start are the client's to judge */
	bpf_program__set_autoload(skel->progs.note_cgroup_mkdir, ro->filter_cgroups);
	bpf_program__set_autoload(skel->progs.note_cgroup_rmdir, ro->filter_cgroups);
	/* the fanotify engine runs for what the kernel does not decide */
	bool fanotify_deny = o->n_deny_sha256 || (o->n_deny_globs && !kernel_deny);
	bpf_program__set_autoload(skel->progs.kill_unwatched, o->deny_unverifiable && fanotify_deny);
	for (int i = 0; i < FEAT_MAX; i++) {
		const struct feature *f = &feats[i];
		if (f->chosen >= f->n)
			continue;
		for (const char *const *name = f->v[f->chosen].progs; *name; name++) {
			prog = bpf_object__find_program_by_name(skel->obj, *name);
			if (prog)
				bpf_program__set_autoload(prog, true);
		}
	}
	if (bpf_map__set_max_entries(skel->maps.events, (uint32_t)o->ringbuf_bytes))
		return -1;
	/* one exec scratch buffer per CPU, none needed without exec events */
	return bpf_map__set_max_entries(skel->maps.exec_bufs,
					wants(o, KSM_EV_PROCESS_EXEC) ? (uint32_t)ncpus : 1);
}

/* The feature whose chosen variant has this program, or NULL. */
static struct feature *feature_of(struct feature *feats, const char *prog)
{
	for (int i = 0; i < FEAT_MAX; i++) {
		struct feature *f = &feats[i];
		if (f->chosen >= f->n)
			continue;
		for (const char *const *name = f->v[f->chosen].progs; *name; name++)
			if (!strcmp(*name, prog))
				return f;
	}
	return NULL;
}

static void tell_choices(const struct feature *feats)
{
	struct utsname u;
	uname(&u);
	for (int i = 0; i < FEAT_MAX; i++) {
		const struct feature *f = &feats[i];
		if (!f->n)
			continue;
		if (f->chosen >= f->n)
			fprintf(stderr, "ksysmon: %s %s on this kernel (%s): %s\n", f->what, f->when_off,
				u.release, why_not(&f->v[f->n - 1]));
		else if (f->chosen > 0)
			fprintf(stderr, "ksysmon: %s are caught by %s on this kernel (%s), not %s: %s\n",
				f->what, f->v[f->chosen].how, u.release, f->v[0].how, why_not(&f->v[0]));
	}
}

/* The --deny rules the kernel decides, compiled (they were checked with
 * the options). */
static int fill_deny_globs(struct ksysmon_bpf *skel, const struct ksm_options *o)
{
	static struct ksm_glob g;
	char why[200];
	int fd = bpf_map__fd(skel->maps.deny_globs);
	for (uint32_t i = 0; i < o->n_deny_globs; i++) {
		if (ksm_glob_compile(o->deny_globs[i], &g, why, sizeof(why))) {
			fprintf(stderr, "ksysmon: %s\n", why);
			return -EINVAL;
		}
		if (bpf_map_update_elem(fd, &i, &g, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int fill_pid_filter(struct ksysmon_bpf *skel, const struct ksm_options *o)
{
	int fd = bpf_map__fd(skel->maps.pid_filter);
	uint8_t one = 1;
	for (size_t i = 0; i < o->n_pids; i++)
		if (bpf_map_update_elem(fd, &o->pids[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

int ksm_sensor_set_watched(struct ksysmon_bpf *skel, const uint32_t *sb_devs, size_t n)
{
	int fd = bpf_map__fd(skel->maps.watched_sb);
	uint32_t key, next;
	uint8_t one = 1;
	/* superblocks gone first: their numbers are given to new ones */
	for (int more = !bpf_map_get_next_key(fd, NULL, &key); more; key = next) {
		more = !bpf_map_get_next_key(fd, &key, &next);
		bool kept = false;
		for (size_t i = 0; i < n && !kept; i++)
			kept = sb_devs[i] == key;
		if (!kept)
			bpf_map_delete_elem(fd, &key);
	}
	for (size_t i = 0; i < n && i < KSM_WATCHED_SB_MAX; i++)
		if (bpf_map_update_elem(fd, &sb_devs[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

void ksm_sensor_arm_unwatched(struct ksysmon_bpf *skel)
{
	__atomic_store_n(&skel->bss->unwatched_armed, true, __ATOMIC_RELEASE);
}

/*
 * A kernel may load fentry/fexit programs and still refuse to attach them
 * (no trampolines on this architecture or under this hypervisor): they are
 * attached here, where a refusal can still fall back to another variant,
 * and left out of the skeleton's attach that starts the others.
 */
static int attach_trampolines(struct ksysmon_bpf *skel)
{
	const struct bpf_object_skeleton *s = skel->skeleton;
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *prog = *s->progs[i].prog;
		enum bpf_attach_type type = bpf_program__get_expected_attach_type(prog);
		if (!bpf_program__autoload(prog) ||
		    (type != BPF_TRACE_FEXIT && type != BPF_TRACE_FENTRY))
			continue;
		struct bpf_link *link = bpf_program__attach(prog);
		if (!link) {
			int err = errno;
			snprintf(load_log.prog, sizeof(load_log.prog), "%s", bpf_program__name(prog));
			snprintf(load_log.reason, sizeof(load_log.reason), "attaching failed: %s",
				 strerror(err));
			errno = err;
			return -1;
		}
		*s->progs[i].link = link;
		bpf_program__set_autoattach(prog, false);
	}
	return 0;
}

/* Opens and loads the sensor with the features' chosen variants; on a
 * refusal that one optional program explains, moves its feature to the
 * next variant and tries again. */
static struct ksysmon_bpf *load_programs(const struct ksm_options *o, int ncpus,
					 const struct kernel_features *kf, struct feature *feats)
{
	for (int attempt = 0; attempt <= FEAT_MAX * MAX_VARIANTS; attempt++) {
		struct ksysmon_bpf *skel = ksysmon_bpf__open();
		if (!skel) {
			fprintf(stderr, "ksysmon: cannot open the BPF object: %s\n", strerror(errno));
			return NULL;
		}
		if (configure(skel, o, ncpus, kf, feats)) {
			fprintf(stderr, "ksysmon: cannot size the BPF maps: %s\n", strerror(errno));
			ksysmon_bpf__destroy(skel);
			return NULL;
		}
		memset(load_log.prog, 0, sizeof(load_log.prog));
		memset(load_log.reason, 0, sizeof(load_log.reason));
		memset(load_log.last_log, 0, sizeof(load_log.last_log));
		load_log.in_log = false;
		load_log.next = libbpf_set_print(capture_print);
		int err = ksysmon_bpf__load(skel);
		if (!err)
			err = attach_trampolines(skel);
		libbpf_set_print(load_log.next);
		if (!err)
			return skel;
		err = errno;
		ksysmon_bpf__destroy(skel);

		struct feature *f = load_log.prog[0] ? feature_of(feats, load_log.prog) : NULL;
		if (!f) {
			fprintf(stderr, "ksysmon: the kernel refused the BPF programs: %s%s%s%s%s (KSYSMON_DEBUG=1 shows the verifier log)\n",
				strerror(err), load_log.prog[0] ? "; " : "", load_log.prog,
				load_log.reason[0] ? ": " : "", load_log.reason);
			return NULL;
		}
		struct variant *v = &f->v[f->chosen];
		snprintf(v->refused, sizeof(v->refused), "the kernel refused %s (%s: %s)", v->how,
			 load_log.prog, load_log.reason[0] ? load_log.reason : strerror(err));
		do
			f->chosen++;
		while (f->chosen < f->n && f->v[f->chosen].missing);
	}
	return NULL;
}

struct ksysmon_bpf *ksm_sensor_load(const struct ksm_options *o, int ncpus,
				    const struct ksm_kernel_filter *kfilter, bool *deny_in_kernel)
{
	struct feature feats[FEAT_MAX];
	struct kernel_features kf = probe_kernel();

	plan_features(feats, o, &kf);
	struct ksysmon_bpf *skel = load_programs(o, ncpus, &kf, feats);
	if (!skel)
		return NULL;
	*deny_in_kernel = feats[FEAT_DENY].chosen < feats[FEAT_DENY].n;
	if (o->deny_engine == KSM_DENY_ENGINE_LSM && !*deny_in_kernel) {
		struct utsname u;
		uname(&u);
		fprintf(stderr, "ksysmon: --deny-engine lsm is not possible on this kernel (%s): %s; use --deny-engine fanotify or auto\n",
			u.release, why_not(&feats[FEAT_DENY].v[0]));
		goto fail;
	}
	tell_choices(feats);
	if (*deny_in_kernel && (errno = -fill_deny_globs(skel, o))) {
		fprintf(stderr, "ksysmon: cannot set the kernel's --deny rules: %s\n", strerror(errno));
		goto fail;
	}
	if (fill_pid_filter(skel, o)) {
		fprintf(stderr, "ksysmon: cannot set the pid filter: %s\n", strerror(errno));
		goto fail;
	}
	if ((errno = -ksm_kfilter_swap(skel, NULL, kfilter))) {
		fprintf(stderr, "ksysmon: cannot set the kernel exclusions: %s\n", strerror(errno));
		goto fail;
	}
	return skel;
fail:
	ksysmon_bpf__destroy(skel);
	return NULL;
}
