// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ksysmon: reports process, exec, exit and thread events from the kernel.
 * Loads the BPF sensor, drains its ring buffer in batches, prints each
 * event as text or JSON, and on SIGINT/SIGTERM detaches, drains what is
 * left and prints a summary.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "deny.h"
#include "kfilter.h"
#include "loader.h"
#include "options.h"
#include "pipeline.h"
#include "replay.h"
#include "ksysmon.skel.h"

#define KSYSMON_VERSION "0.1.0"

struct monitor {
	struct ksysmon_bpf *skel;
	struct ring_buffer *rb;
	struct ksm_pipeline pipe;
	uint64_t lost_reported[KSM_EV_MAX]; /* the kernel's counters, last read */
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

static int on_record(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	ksm_pipeline_record(&m->pipe, data, size);
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
	rec.hdr.time = ksm_clock_ns(CLOCK_REALTIME);
	ksm_pipeline_record(&m->pipe, &rec, sizeof(rec));
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

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* A --pid of no process is accepted (a process may take the id later, and
 * is then followed), but said, since it is more often a mistake. */
static void warn_absent_pids(const struct ksm_options *o)
{
	for (size_t i = 0; i < o->n_pids; i++)
		if (kill((pid_t)o->pids[i], 0) && errno == ESRCH)
			fprintf(stderr, "ksysmon: warning: --pid %u: no such process now; followed if a process takes this id\n",
				o->pids[i]);
}

/* A record of the exec policy thread (realtime-stamped). */
static void on_deny_record(void *ctx, const void *rec, size_t size)
{
	struct monitor *m = ctx;
	ksm_pipeline_record(&m->pipe, rec, size);
}

/* One batch: whatever the queue holds now, then the lost counters.  A
 * failing output does not stop it (its events are counted as lost). */
static int drain(struct monitor *m)
{
	m->pipe.boot_ns = ksm_boot_time_ns();
	int n = ring_buffer__consume(m->rb);
	if (n < 0)
		return n;
	int err = report_lost(m);
	if (err)
		return err;
	ksm_deny_drain(m->deny, on_deny_record, m);
	ksm_pipeline_flush(&m->pipe);
	return 0;
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
		if (err) {
			fprintf(stderr, "ksysmon: %s\n", strerror(-err));
			return err;
		}
		err = ksm_pipeline_write_end(&m->pipe);
		if (err)
			return err == -EPIPE ? 0 : err; /* the failure was said when it began */
	}
	return 0;
}

/* The fanotify engine's superblocks, for the sensor's --deny-unverifiable. */
static void on_watched(void *ctx, const uint32_t *sb_devs, size_t n)
{
	struct monitor *m = ctx;
	int err = ksm_sensor_set_watched(m->skel, sb_devs, n);
	if (err)
		fprintf(stderr, "ksysmon: deny: cannot tell the sensor which filesystems are watched: %s\n",
			strerror(-err));
}

/* Live: the sensor's events until SIGINT/SIGTERM. */
static int watch(struct monitor *m, const struct ksm_options *opts,
		 const struct ksm_rules *rules, const struct ksm_kernel_filter *kfilter)
{
	char err_msg[256];
	int err = 1;

	if (preflight())
		return 1;
	libbpf_set_print(libbpf_print);
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0) {
		fprintf(stderr, "ksysmon: cannot count CPUs: %s\n", strerror(-m->ncpus));
		return 1;
	}
	bool deny_in_kernel = false;
	m->skel = ksm_sensor_load(opts, m->ncpus, kfilter, &deny_in_kernel);
	if (!m->skel)
		return 1;
	m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.events), on_record, m, NULL);
	if (!m->rb) {
		fprintf(stderr, "ksysmon: cannot map the event queue: %s\n", strerror(errno));
		return 1;
	}
	/* what was running before: seeded just before the events start */
	if (ksm_pipeline_init(&m->pipe, opts, rules, true, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "ksysmon: %s\n", err_msg);
		return 1;
	}
	if (ksysmon_bpf__attach(m->skel)) {
		fprintf(stderr, "ksysmon: cannot attach to the scheduler tracepoints: %s\n", strerror(errno));
		return 1;
	}
	/* what the kernel does not decide, this process decides */
	size_t n_globs = deny_in_kernel ? 0 : opts->n_deny_globs;
	if (n_globs || opts->n_deny_sha256) {
		struct ksm_deny_config dc = {
			.globs = opts->deny_globs, .n_globs = n_globs,
			.sha256 = opts->deny_sha256, .n_sha256 = opts->n_deny_sha256,
			.audit = opts->deny_audit, .fail_closed = opts->deny_fail_closed,
			.timeout_ms = opts->deny_timeout_ms,
			.unwatched_killed = opts->deny_unverifiable,
			.watched = opts->deny_unverifiable ? on_watched : NULL, .watched_ctx = m,
		};
		if (ksm_deny_start(&m->deny, &dc, err_msg, sizeof(err_msg))) {
			fprintf(stderr, "ksysmon: %s\n", err_msg);
			return 1;
		}
		if (opts->deny_unverifiable)
			ksm_sensor_arm_unwatched(m->skel); /* the filesystems are marked */
	}
	fprintf(stderr, "ksysmon: ready\n");

	err = run(m, opts) ? 1 : 0;

	/* no new events after this; then everything already queued is shown */
	ksysmon_bpf__detach(m->skel);
	ksm_deny_stop(m->deny); /* nothing stays blocked; its last reports follow */
	int derr = drain(m);
	if (derr && !err) {
		fprintf(stderr, "ksysmon: %s\n", strerror(-derr));
		err = 1;
	}
	ksm_pipeline_summary(&m->pipe, m->pipe.rules ? (int64_t)ksm_kfilter_count(m->skel, m->ncpus) : -1);
	return err;
}

int main(int argc, char **argv)
{
	struct ksm_options opts;
	struct monitor m = { .pipe.out.fd = -1, .pipe.capture.fd = -1 };
	struct ksm_rules *rules = NULL;
	char err_msg[256];
	int err;

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
		if (ksm_rules_load(opts.config, &rules, err_msg, sizeof(err_msg))) {
			fprintf(stderr, "ksysmon: %s\n", err_msg);
			return 2;
		}
		ksm_rules_kernel_filter(rules, &kfilter);
		opts.event_mask &= ~kfilter.disabled_types;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as EPIPE */
	install_signals();
	if (!opts.read) {
		warn_absent_pids(&opts);
		err = watch(&m, &opts, rules, &kfilter);
	} else if (ksm_pipeline_init(&m.pipe, &opts, rules, false, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "ksysmon: %s\n", err_msg);
		err = 1;
	} else {
		m.pipe.stop = &stop_requested;
		int rc = ksm_replay_file(&m.pipe, opts.read);
		if (rc != -2)
			ksm_pipeline_summary(&m.pipe, -1);
		err = rc ? 1 : 0;
	}
	ksm_deny_free(m.deny);
	ring_buffer__free(m.rb);
	ksysmon_bpf__destroy(m.skel);
	ksm_pipeline_free(&m.pipe);
	ksm_rules_free(rules);
	return err;
}
