// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "loader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kfilter.h"
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

struct kernel_features {
	bool exit_has_group_dead; /* sched_process_exit(p, group_dead), 6.16+ */
	bool module_load;         /* the kernel has loadable modules */
	bool sys_exit;            /* the raw syscall-exit tracepoint (image loads) */
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
	btf__free(btf);
	return f;
}

/* Syscall tracepoints are found through tracefs: mount it if it is not. */
static int ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events/syscalls", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events/syscalls", F_OK))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY) {
		fprintf(stderr, "ksysmon: tracefs is not mounted and cannot be mounted at /sys/kernel/tracing: %s\n",
			strerror(errno));
		return -1;
	}
	if (access("/sys/kernel/tracing/events/syscalls", F_OK)) {
		fprintf(stderr, "ksysmon: this kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS), needed for image_load\n");
		return -1;
	}
	return 0;
}

static bool wants(const struct ksm_options *o, enum ksm_event_type t)
{
	return o->event_mask & (1u << t);
}

static int configure(struct ksysmon_bpf *skel, const struct ksm_options *o, int ncpus,
		     const struct ksm_kernel_filter *kfilter)
{
	struct ksysmon_bpf__rodata *ro = skel->rodata;

	ksm_kfilter_configure(skel, kfilter);
	ro->event_mask = o->event_mask;
	ro->filter_pids = o->n_pids > 0;
	ro->max_args_bytes = o->max_args_bytes;
	ro->wakeup_bytes = o->ringbuf_bytes / 4;
	struct kernel_features kf = probe_kernel();
	ro->exit_has_group_dead = kf.exit_has_group_dead;

	/* --pid follows the selected processes' children from fork to exit,
	 * whichever events are reported */
	bool following = o->n_pids > 0;
	bpf_program__set_autoload(skel->progs.handle_fork, following ||
				  wants(o, KSM_EV_PROCESS_CREATE) || wants(o, KSM_EV_THREAD_CREATE));
	bpf_program__set_autoload(skel->progs.handle_exec, wants(o, KSM_EV_PROCESS_EXEC));
	bool images = wants(o, KSM_EV_IMAGE_LOAD);
	bool perf_hook = o->image_hook == KSM_IMAGE_HOOK_PERF;
	bpf_program__set_autoload(skel->progs.handle_syscall_exit, images && !perf_hook);
	bpf_program__set_autoload(skel->progs.handle_mmap_exit, images && perf_hook);
	bpf_program__set_autoload(skel->progs.handle_mprotect_exit, images && perf_hook);
	bpf_program__set_autoload(skel->progs.handle_exec_images, images);
	bpf_program__set_autoload(skel->progs.handle_module_load, images && kf.module_load);
	if (images && !kf.module_load)
		fprintf(stderr, "ksysmon: this kernel has no loadable modules (no module_load tracepoint): kernel module loads are not reported\n");
	if (images && perf_hook && ensure_tracefs())
		return -2;
	if (images && !perf_hook && !kf.sys_exit) {
		fprintf(stderr, "ksysmon: this kernel has no sys_exit tracepoint (CONFIG_FTRACE_SYSCALLS), needed for image_load; use --events without it\n");
		return -2;
	}
	bpf_program__set_autoload(skel->progs.handle_exit, following ||
				  wants(o, KSM_EV_PROCESS_EXIT) || wants(o, KSM_EV_THREAD_EXIT));
	if (bpf_map__set_max_entries(skel->maps.events, (uint32_t)o->ringbuf_bytes))
		return -1;
	/* one exec scratch buffer per CPU, none needed without exec events */
	return bpf_map__set_max_entries(skel->maps.exec_bufs,
					wants(o, KSM_EV_PROCESS_EXEC) ? (uint32_t)ncpus : 1);
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

struct ksysmon_bpf *ksm_sensor_load(const struct ksm_options *o, int ncpus,
				    const struct ksm_kernel_filter *kfilter)
{
	struct ksysmon_bpf *skel = ksysmon_bpf__open();
	int err;

	if (!skel) {
		fprintf(stderr, "ksysmon: cannot open the BPF object: %s\n", strerror(errno));
		return NULL;
	}
	err = configure(skel, o, ncpus, kfilter);
	if (err) {
		if (err == -1)
			fprintf(stderr, "ksysmon: cannot size the BPF maps: %s\n", strerror(errno));
		goto fail;
	}
	if (ksysmon_bpf__load(skel)) {
		fprintf(stderr, "ksysmon: the kernel refused the BPF programs: %s (KSYSMON_DEBUG=1 shows the verifier log)\n",
			strerror(errno));
		goto fail;
	}
	if (fill_pid_filter(skel, o)) {
		fprintf(stderr, "ksysmon: cannot set the pid filter: %s\n", strerror(errno));
		goto fail;
	}
	if ((errno = -ksm_kfilter_fill(skel, kfilter))) {
		fprintf(stderr, "ksysmon: cannot set the kernel exclusions: %s\n", strerror(errno));
		goto fail;
	}
	return skel;
fail:
	ksysmon_bpf__destroy(skel);
	return NULL;
}
