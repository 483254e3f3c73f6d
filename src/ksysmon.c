// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ksysmon: reports process, exec, exit and thread events from the kernel.
 * Loads the BPF sensor, drains its ring buffer in batches, prints each
 * event as text or JSON, and on SIGINT/SIGTERM detaches, drains what is
 * left and prints a summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "decode.h"
#include "enrich.h"
#include "filehash.h"
#include "kfilter.h"
#include "select.h"
#include "deny.h"
#include "format.h"
#include "options.h"
#include "output.h"
#include "ksysmon.skel.h"

#define KSYSMON_VERSION "0.1.0"

struct monitor {
	struct ksysmon_bpf *skel;
	struct ring_buffer *rb;
	struct ksm_output out;
	struct ksm_enricher enrich; /* process table, user names */
	struct ksm_rules *rules;    /* --config, or NULL */
	struct ksm_buf scratch;     /* fields the rules look at */
	uint64_t filtered;          /* events the rules dropped in user space */
	struct ksm_filehash hash;   /* --hash sha256 */
	bool hashing;
	enum ksm_format format;
	uint64_t boot_ns;
	uint64_t seen[KSM_EV_MAX];
	uint64_t lost_reported[KSM_EV_MAX];
	uint64_t malformed;
	int ncpus;
	struct ksm_deny *deny; /* exec policy, NULL without rules */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	static int debug = -1;
	if (debug < 0)
		debug = getenv("KSYSMON_DEBUG") != NULL;
	(void)level;
	if (!debug)
		return 0; /* failures are reported by ksysmon in one line */
	return vfprintf(stderr, fmt, args);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time of boot: BPF stamps events with CLOCK_BOOTTIME. */
static uint64_t boot_time_ns(void)
{
	return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
}

static void emit(struct monitor *m, const struct ksm_event *ev)
{
	if (m->format == KSM_FORMAT_JSON)
		ksm_format_json(&m->out.buf, ev);
	else
		ksm_format_text(&m->out.buf, ev);
	ksm_output_maybe_flush(&m->out);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	struct ksm_event ev;

	if (ksm_decode(data, size, m->boot_ns, &ev) != KSM_DECODE_OK) {
		m->malformed++;
		return 0;
	}
	/* the process table learns from every event, shown or not */
	ksm_enrich(&m->enrich, &ev, m->boot_ns);
	if (!ksm_select_event(m->rules, &ev, &m->scratch)) {
		m->filtered++;
		return 0;
	}
	if (m->hashing)
		ksm_filehash_event(&m->hash, &ev);
	m->seen[ev.type]++;
	emit(m, &ev);
	return 0;
}

/* Reads the kernel's per-CPU lost counters; when any grew since the last
 * report, emits an events_lost event with the differences. */
static int report_lost(struct monitor *m)
{
	struct ksm_events_lost rec = { 0 };
	bool any = false;
	int fd = bpf_map__fd(m->skel->maps.lost);

	for (uint32_t t = 1; t < KSM_EV_MAX; t++) {
		uint64_t sum;
		if (ksm_percpu_sum(fd, t, m->ncpus, &sum))
			return -errno;
		if (sum > m->lost_reported[t]) {
			rec.lost[t] = sum - m->lost_reported[t];
			m->lost_reported[t] = sum;
			any = true;
		}
	}
	if (!any)
		return 0;
	rec.hdr.type = KSM_EV_EVENTS_LOST;
	rec.hdr.flags = KSM_HF_TIME_REALTIME;
	rec.hdr.size = sizeof(rec);
	rec.hdr.time = clock_ns(CLOCK_REALTIME);
	struct ksm_event ev;
	if (ksm_decode(&rec, sizeof(rec), 0, &ev) == KSM_DECODE_OK) {
		m->seen[KSM_EV_EVENTS_LOST]++;
		emit(m, &ev);
	}
	return 0;
}

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

	bpf_program__set_autoload(skel->progs.handle_fork,
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
	bpf_program__set_autoload(skel->progs.handle_exit,
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

static int preflight(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "ksysmon: must run as root (loading BPF programs needs CAP_BPF and CAP_PERFMON)\n");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "ksysmon: kernel BTF not found at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF is needed)\n");
		return -1;
	}
	return 0;
}

static int open_output(const struct ksm_options *o)
{
	if (!o->output)
		return STDOUT_FILENO;
	int fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "ksysmon: cannot open output '%s': %s\n", o->output, strerror(errno));
	return fd;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as EPIPE */
}

static void print_summary(const struct monitor *m)
{
	uint64_t total_lost = 0;

	fprintf(stderr, "ksysmon: summary:");
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		if (t != KSM_EV_EVENTS_LOST)
			fprintf(stderr, " %s=%llu", ksm_event_name(t), (unsigned long long)m->seen[t]);
	fprintf(stderr, "\nksysmon: lost:");
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (t == KSM_EV_EVENTS_LOST)
			continue;
		fprintf(stderr, " %s=%llu", ksm_event_name(t), (unsigned long long)m->lost_reported[t]);
		total_lost += m->lost_reported[t];
	}
	fprintf(stderr, " total=%llu\n", (unsigned long long)total_lost);
	if (m->malformed)
		fprintf(stderr, "ksysmon: %llu malformed records skipped\n",
			(unsigned long long)m->malformed);
	if (m->hashing)
		fprintf(stderr, "ksysmon: hash: computed=%llu cached=%llu failed=%llu\n",
			(unsigned long long)m->hash.hashed, (unsigned long long)m->hash.cached,
			(unsigned long long)m->hash.failed);
	if (m->rules)
		fprintf(stderr, "ksysmon: filtered: kernel=%llu user=%llu\n",
			(unsigned long long)ksm_kfilter_count(m->skel, m->ncpus),
			(unsigned long long)m->filtered);
}

/* A record of the exec policy thread (realtime-stamped). */
static void on_deny_record(void *ctx, const void *rec, size_t size)
{
	struct monitor *m = ctx;
	struct ksm_event ev;

	if (ksm_decode(rec, size, 0, &ev) != KSM_DECODE_OK) {
		m->malformed++;
		return;
	}
	m->seen[ev.type]++;
	if (ev.type == KSM_EV_EVENTS_LOST)
		for (unsigned t = 1; t < KSM_EV_MAX; t++)
			m->lost_reported[t] += ev.u.lost.lost[t];
	emit(m, &ev);
}

/* One batch: whatever the queue holds now, then the lost counters. */
static int drain(struct monitor *m)
{
	m->boot_ns = boot_time_ns();
	int n = ring_buffer__consume(m->rb);
	if (n < 0)
		return n;
	int err = report_lost(m);
	if (err)
		return err;
	ksm_deny_drain(m->deny, on_deny_record, m);
	return ksm_output_flush(&m->out);
}

static int run(struct monitor *m, const struct ksm_options *o)
{
	int err = 0;

	while (!stop_requested) {
		/* the sensor wakes us only when the backlog is large; otherwise
		 * the timeout bounds how long an event waits */
		err = ring_buffer__poll(m->rb, (int)o->latency_ms);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "ksysmon: reading the event queue failed: %s\n", strerror(-err));
			return err;
		}
		err = drain(m);
		if (err == -EPIPE)
			return 0; /* the reader went away: a normal end */
		if (err) {
			fprintf(stderr, "ksysmon: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ksm_options opts;
	struct monitor m = { .out.fd = -1 };
	char err_msg[256];
	int err = 1;

	if (ksm_parse_options(argc, argv, &opts, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "ksysmon: %s\n", err_msg);
		return 2;
	}
	if (opts.help) {
		fputs(ksm_usage, stdout);
		return 0;
	}
	if (opts.version) {
		puts("ksysmon " KSYSMON_VERSION);
		return 0;
	}
	struct ksm_kernel_filter kfilter = { 0 };
	if (opts.config) {
		/* all of it or nothing: a bad file stops ksysmon before it starts */
		if (ksm_rules_load(opts.config, &m.rules, err_msg, sizeof(err_msg))) {
			fprintf(stderr, "ksysmon: %s\n", err_msg);
			return 2;
		}
		ksm_rules_kernel_filter(m.rules, &kfilter);
		opts.event_mask &= ~kfilter.disabled_types;
	}
	if (preflight()) {
		ksm_rules_free(m.rules);
		return 1;
	}

	libbpf_set_print(libbpf_print);
	m.format = opts.format;
	m.ncpus = libbpf_num_possible_cpus();
	if (m.ncpus <= 0) {
		fprintf(stderr, "ksysmon: cannot count CPUs: %s\n", strerror(-m.ncpus));
		return 1;
	}
	m.out.fd = open_output(&opts);
	if (m.out.fd < 0)
		return 1;

	m.skel = ksysmon_bpf__open();
	if (!m.skel) {
		fprintf(stderr, "ksysmon: cannot open the BPF object: %s\n", strerror(errno));
		goto cleanup;
	}
	err = configure(m.skel, &opts, m.ncpus, &kfilter);
	if (err) {
		if (err == -1)
			fprintf(stderr, "ksysmon: cannot size the BPF maps: %s\n", strerror(errno));
		err = 1;
		goto cleanup;
	}
	err = 1;
	if (ksysmon_bpf__load(m.skel)) {
		fprintf(stderr, "ksysmon: the kernel refused the BPF programs: %s (KSYSMON_DEBUG=1 shows the verifier log)\n",
			strerror(errno));
		goto cleanup;
	}
	if (fill_pid_filter(m.skel, &opts)) {
		fprintf(stderr, "ksysmon: cannot set the pid filter: %s\n", strerror(errno));
		goto cleanup;
	}
	if ((errno = -ksm_kfilter_fill(m.skel, &kfilter))) {
		fprintf(stderr, "ksysmon: cannot set the kernel exclusions: %s\n", strerror(errno));
		goto cleanup;
	}
	m.rb = ring_buffer__new(bpf_map__fd(m.skel->maps.events), on_record, &m, NULL);
	if (!m.rb) {
		fprintf(stderr, "ksysmon: cannot map the event queue: %s\n", strerror(errno));
		goto cleanup;
	}
	install_signals();
	if (opts.hash) {
		if (ksm_filehash_init(&m.hash)) {
			fprintf(stderr, "ksysmon: cannot allocate the hash cache: %s\n", strerror(errno));
			goto cleanup;
		}
		m.hashing = true;
	}
	/* what was running before: seeded just before the events start */
	if (ksm_enrich_init(&m.enrich, KSM_MAX_PROCS, "/proc", "/proc/sys/kernel/random/boot_id")) {
		fprintf(stderr, "ksysmon: cannot allocate the process table: %s\n", strerror(errno));
		goto cleanup;
	}
	if (ksysmon_bpf__attach(m.skel)) {
		fprintf(stderr, "ksysmon: cannot attach to the scheduler tracepoints: %s\n", strerror(errno));
		goto cleanup;
	}
	if (opts.n_deny_globs || opts.n_deny_sha256) {
		struct ksm_deny_config dc = {
			.globs = opts.deny_globs, .n_globs = opts.n_deny_globs,
			.sha256 = opts.deny_sha256, .n_sha256 = opts.n_deny_sha256,
			.audit = opts.deny_audit, .fail_closed = opts.deny_fail_closed,
			.timeout_ms = opts.deny_timeout_ms,
		};
		if (ksm_deny_start(&m.deny, &dc, err_msg, sizeof(err_msg))) {
			fprintf(stderr, "ksysmon: %s\n", err_msg);
			goto cleanup;
		}
	}
	fprintf(stderr, "ksysmon: ready\n");

	err = run(&m, &opts) ? 1 : 0;

	/* no new events after this; then everything already queued is shown */
	ksysmon_bpf__detach(m.skel);
	ksm_deny_stop(m.deny); /* nothing stays blocked; its last reports follow */
	if (drain(&m) && !err && m.out.error != EPIPE) {
		fprintf(stderr, "ksysmon: %s\n", strerror(m.out.error ? m.out.error : errno));
		err = 1;
	}
	print_summary(&m);

cleanup:
	ksm_deny_free(m.deny);
	ring_buffer__free(m.rb);
	ksysmon_bpf__destroy(m.skel);
	ksm_buf_free(&m.out.buf);
	ksm_enrich_free(&m.enrich);
	ksm_rules_free(m.rules);
	ksm_buf_free(&m.scratch);
	ksm_filehash_free(&m.hash);
	if (m.out.fd > STDOUT_FILENO)
		close(m.out.fd);
	return err;
}
